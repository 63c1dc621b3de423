"""The admin CLI (`python -m admin COMMAND`, or `make admin ARGS="COMMAND ..."`) for moving a
merchant in and for operations, against any DynamoDB endpoint: `make run`'s embedded store
(`DYNAMODB_ENDPOINT_URL` as its banner prints it, `TABLE_PREFIX`) or AWS (the usual credentials and
`AWS_REGION`; `TABLE_PREFIX` as deployed).

  import FILE        members from an old POS/CRM's CSV (admin/rows.py), idempotent and resumable
  export WHAT        members, ledger or liability as CSV
  backfill           the index keys of members written before member_shard / life_key existed
  replay-dlq         move the jobs' dead-letter queue back to the jobs queue

Exit status: 0 done (rows may have been rejected: see the rejects file), 1 the store or the queue
failed on the way (nothing is lost: run the same command again to go on), 2 bad arguments or file.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from admin.backfill import backfill
from admin.dlq import replay
from admin.exports import export_ledger, export_liability, export_members
from admin.importer import import_file
from admin.output import STDOUT, private_file
from admin.progress import Progress
from admin.rows import BadHeader
from chalicelib import clock
from chalicelib.errors import StoreUnavailable
from chalicelib.store.dynamo import DynamoUnitOfWork, shared_client

LOOPBACK = ("127.0.0.1", "localhost", "::1")
RESUME = "nothing is lost: run the same command again to go on"


class Unfinished(Exception):
    """The command ran to its end but left work undone (messages the jobs queue refused)."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m admin", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("import", help="import members from a CSV file (format in README / admin/rows.py)")
    load.add_argument("file", type=Path)
    load.add_argument("--rejects", type=Path, help="CSV of the rejected rows and why (default FILE.rejects.csv)")
    load.add_argument("--encoding", default="utf-8-sig", help="the file's encoding (default utf-8, BOM or not; "
                                                              "a Chinese Excel export may need gb18030)")
    load.add_argument("--check-phones", action="store_true",
                      help="reject a row whose phone an existing member holds (one Query a row): use it when "
                           "members have already signed up through the mini-program")
    export = commands.add_parser("export", help="write members, the ledger or the points liability as CSV")
    export.add_argument("what", choices=("members", "ledger", "liability"))
    export.add_argument("--out", default=STDOUT, help="output file (default: standard output)")
    commands.add_parser("backfill", help="set member_shard / life_shard / life_key where missing")
    dlq = commands.add_parser("replay-dlq", help="move the jobs' dead-letter queue back to the jobs queue")
    dlq.add_argument("--dlq-url", default=os.environ.get("JOBS_DLQ_URL"), help="default $JOBS_DLQ_URL")
    dlq.add_argument("--queue-url", default=os.environ.get("JOBS_QUEUE_URL"), help="default $JOBS_QUEUE_URL")
    dlq.add_argument("--max", type=int, help="move at most this many messages")
    dlq.add_argument("--sqs-endpoint-url", default=os.environ.get("SQS_ENDPOINT_URL"),
                     help="another SQS endpoint (a local one); default $SQS_ENDPOINT_URL, else AWS")
    args = parser.parse_args(argv)
    if args.command == "replay-dlq" and not (args.dlq_url and args.queue_url):
        parser.error("replay-dlq needs --dlq-url and --queue-url (or JOBS_DLQ_URL and JOBS_QUEUE_URL)")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status."""
    args = parse_args(argv)
    local_credentials()
    run: Callable[[argparse.Namespace], str] = COMMANDS[args.command]
    try:
        report = run(args)
    except BadHeader as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"{args.file}: not {args.encoding} text ({exc.reason}); try --encoding gb18030", file=sys.stderr)
        return 2
    except (StoreUnavailable, BotoCoreError, ClientError, Unfinished) as exc:
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        print(f"stopped: {exc}{cause} ({RESUME})", file=sys.stderr)
        return 1
    except OSError as exc:  # a file that cannot be read or written (the store's failures are caught above)
        print(f"{exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted ({RESUME})", file=sys.stderr)
        return 130
    print(report, file=sys.stderr if getattr(args, "out", None) == STDOUT else sys.stdout)
    return 0


def local_credentials() -> None:
    """A local endpoint (the embedded store, DynamoDB Local) takes any credentials: supply fake ones
    when none are set, as `make run` does for its own store."""
    endpoint = os.environ.get("DYNAMODB_ENDPOINT_URL", "")
    if endpoint and urlsplit(endpoint).hostname in LOOPBACK and not os.environ.get("AWS_ACCESS_KEY_ID"):
        os.environ.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def run_import(args: argparse.Namespace) -> str:
    """`import FILE`."""
    rejects = args.rejects or args.file.with_name(args.file.name + ".rejects.csv")
    done = import_file(DynamoUnitOfWork(), args.file, rejects, clock.now(), encoding=args.encoding,
                       check_phones=args.check_phones, progress=Progress("import", quiet=args.quiet))
    return (f"{done.rows:,} rows: {done.imported:,} members imported ({done.points:,} points), "
            f"{done.already_imported:,} imported before, {done.rejected:,} rejected (see {rejects})")


def run_export(args: argparse.Namespace) -> str:
    """`export members|ledger|liability`."""
    progress = Progress(f"export {args.what}", quiet=args.quiet)
    with private_file(args.out) as out:
        if args.what == "members":
            export_members(DynamoUnitOfWork(), shared_client(), out, clock.now(), progress)
        elif args.what == "ledger":
            export_ledger(shared_client(), out, progress)
        else:
            total = export_liability(DynamoUnitOfWork(), out, clock.now(), progress)
            progress.close()
            return (f"{total['members']:,} members hold {total['points']:,} points "
                    f"(+ {total['pending']:,} pending) -> {args.out}")
    progress.close()
    return f"{progress.done:,} {args.what} rows -> {args.out}"


def run_backfill(args: argparse.Namespace) -> str:
    """`backfill`."""
    progress = Progress("backfill", quiet=args.quiet)
    done = backfill(DynamoUnitOfWork(), shared_client(), progress)
    progress.close()
    return f"{done.found:,} members lacked index keys; {done.updated:,} updated"


def run_replay(args: argparse.Namespace) -> str:
    """`replay-dlq`."""
    import boto3

    sqs: Any = boto3.client("sqs", endpoint_url=args.sqs_endpoint_url)
    progress = Progress("replay-dlq", quiet=args.quiet)
    done = replay(sqs, args.dlq_url, args.queue_url, progress, args.max)
    progress.close()
    if done.failed:
        raise Unfinished(f"{done.moved:,} messages moved, {done.failed:,} failed "
                               f"({'; '.join(sorted(set(done.failures)))})")
    return f"{done.moved:,} messages moved to the jobs queue, 0 failed"


COMMANDS: dict[str, Callable[[argparse.Namespace], str]] = {
    "import": run_import, "export": run_export, "backfill": run_backfill, "replay-dlq": run_replay,
}

if __name__ == "__main__":
    sys.exit(main())

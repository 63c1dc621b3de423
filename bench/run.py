"""`make bench`: DynamoDB round trips per route, the yearly points reset at scale, and the import
time of the app.

1. Starts the embedded DynamoDB and a fake WeChat in this process, creates the tables, seeds the
   default program and drives the app in-process with `chalice.test.Client`. Every DynamoDB HTTP
   request botocore sends (each attempt, retries included) is counted by a `before-send.dynamodb`
   handler registered on the app's one shared botocore client; WeChat calls are counted by the
   fake. Each route is measured on its second call of the same kind (warm); its first call is
   reported as `cold_round_trips`.
2. WeChat, on the same store: `WECHAT_PUSHES` encrypted XML `subscribe_msg_popup_event` pushes
   through `POST /v1/wechat/push`, each granting one send of a template to a new openid (latency
   p50/p95, round trips a push), then one `notify.send_notice` per granted openid against the
   fake WeChat (sends/s, DynamoDB and WeChat calls a send).
3. On the same store: the `automations` job over a few hundred members loaded straight into the
   store, on four dates, and the automations' results read (bench/automations.py); then the
   `member-day` job's DynamoDB calls per member, with a coupon and a notice, again the same day,
   and with nothing to do (bench/jobs.py; its members are removed afterwards).
4. In a fresh interpreter on the same store: the first GetItem of each model's table after
   `import app` against a warm one (no model may pay for a client of its own).
5. The three jobs at scale, each in a subprocess of its own on a fresh local stack (run one by
   hand with `--section NAME`): moto slows down as its tables grow, and a 20,000-member section
   run after another on one store exhausted the runner's retry budget, which a deployed DynamoDB
   would not. `reset` (unless `--skip-reset`) loads `--reset-members` members holding points
   (default 20,000) and a quarter as many without with BatchWriteItem, sets the clock to
   1 January 2027 00:00 Shanghai and runs `yearly-points-reset` twice through the admin route:
   wall time, calls by operation, idempotency and a sample of ledgers (bench/reset.py).
   `rfm` (unless `--skip-rfm`) loads `--rfm-members` members with orders (default 20,000) and
   runs `rfm-segments` on two dates through the admin route: calls per member, members written
   (bench/rfm.py). `summary` (unless `--skip-reset`) reads the analytics summary over 31 and 366
   days with 100 members made through the routes and with 20,000 (the others' figures loaded
   straight into the store): round trips and time (bench/analytics.py). `cli-import` imports a
   generated file of `--import-rows` rows (default 20,000) with the admin CLI's importer, twice:
   rows/s and DynamoDB calls per row, and the day's figures afterwards (bench/cli_import.py).
6. Times `python -X importtime -c "import app"` in fresh subprocesses
   (median of 5); then `package` (bench/package.py): the deployment zip's size, and the cold
   start of its unpacked copy under `python3.12 -I -S` (import, then the secrets read).
7. Writes `bench/results.json` (a section left out with a `--skip-…` option keeps the figures it
   had there) and prints the Markdown tables for the README.

A missed target is reported, never an error: the exit code is non-zero only when the bench
itself cannot run.

This module only parses the arguments and runs the sections in that order: `stack` (the local
stack and the in-process client), `counting` (the DynamoDB round-trip meter), `routes` (1),
`wechat` (2), `jobs` (3), `first_touch` (4), `reset`, `rfm`, `analytics` and `cli_import` (5), `imports` (6),
`report` (7).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as `python bench/run.py`: import from the repo root (app, chalicelib, devstack and the
    # `bench` package) rather than from bench/ itself, whose module names are too generic.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.analytics import measure_summary  # noqa: E402
from bench.automations import measure_automations  # noqa: E402
from bench.cli_import import IMPORT_ROWS, measure_cli_import  # noqa: E402
from bench.first_touch import measure_first_touch  # noqa: E402
from bench.imports import measure_import  # noqa: E402
from bench.jobs import measure_member_day  # noqa: E402
from bench.package import measure_package  # noqa: E402
from bench.report import (  # noqa: E402
    build_results,
    previous_results,
    print_report,
    record_section,
    write_results,
)
from bench.reset import RESET_MEMBERS, measure_reset  # noqa: E402
from bench.rfm import RFM_MEMBERS, measure_rfm  # noqa: E402
from bench.routes import measure_routes, run_routes  # noqa: E402
from bench.stack import Bench, in_process_app  # noqa: E402
from bench.wechat import measure_wechat  # noqa: E402

SECTIONS: dict[str, Callable[[Bench, argparse.Namespace], dict[str, Any]]] = {
    "routes": lambda bench, args: measure_routes(bench),
    "package": lambda bench, args: measure_package(),
    "reset": lambda bench, args: measure_reset(bench, args.reset_members),
    "rfm": lambda bench, args: measure_rfm(bench, args.rfm_members),
    "summary": lambda bench, args: measure_summary(bench),
    "cli-import": lambda bench, args: measure_cli_import(bench, args.import_rows),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """`--reset-members N` (at least 1), `--skip-reset`, `--rfm-members N`, `--skip-rfm`, `--import-rows N`
    and `--skip-cli-import`."""
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--reset-members", type=int, default=RESET_MEMBERS, metavar="N",
                        help=f"members holding points for the reset bench (default {RESET_MEMBERS:,})")
    parser.add_argument("--skip-reset", action="store_true", help="leave the yearly reset out")
    parser.add_argument("--rfm-members", type=int, default=RFM_MEMBERS, metavar="N",
                        help=f"members for the rfm-segments bench (default {RFM_MEMBERS:,})")
    parser.add_argument("--skip-rfm", action="store_true", help="leave the rfm-segments job out")
    parser.add_argument("--import-rows", type=int, default=IMPORT_ROWS, metavar="N",
                        help=f"rows of the admin CLI's import bench (default {IMPORT_ROWS:,})")
    parser.add_argument("--skip-cli-import", action="store_true", help="leave the admin CLI's import out")
    parser.add_argument("--section", choices=sorted(SECTIONS),
                        help="run only this section on a fresh stack, record it in results.json (the other "
                             "entries kept) and print its results as JSON")
    args = parser.parse_args(argv)
    if args.reset_members < 1:
        parser.error("--reset-members must be at least 1")
    if args.rfm_members < 10:
        parser.error("--rfm-members must be at least 10")
    if args.import_rows < 1:
        parser.error("--import-rows must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the bench, write results.json, print the tables."""
    args = parse_args(argv)
    if args.section:
        with in_process_app() as bench:
            measured = SECTIONS[args.section](bench, args)
        record_section(args.section, measured)
        print(json.dumps(measured))
        return 0
    with in_process_app() as bench:
        run_routes(bench)
        automations = measure_automations(bench)
        measured_wechat = measure_wechat(bench)
        member_day = measure_member_day(bench)
        first_touch = measure_first_touch()
    package = run_section("package", args)
    reset = None if args.skip_reset else run_section("reset", args)
    rfm = None if args.skip_rfm else run_section("rfm", args)
    summary = None if args.skip_reset else run_section("summary", args)
    cli_import = None if args.skip_cli_import else run_section("cli-import", args)
    results = build_results(bench.results, measured_wechat, measure_import(), reset, first_touch, summary, rfm,
                            member_day, automations, cli_import, package)
    kept = previous_results()  # a section left out keeps its last figures
    results.update({name: kept.get(name) for name, value in results.items() if value is None})
    write_results(results)
    print_report(results)
    return 0


def run_section(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """One job section in a fresh interpreter on a fresh local stack; its JSON results."""
    print(f"bench: {name} ...", file=sys.stderr, flush=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--section", name,
               "--reset-members", str(args.reset_members), "--rfm-members", str(args.rfm_members),
               "--import-rows", str(args.import_rows)]
    with tempfile.TemporaryFile("w+") as output:
        done = subprocess.run(command, stdout=output, check=False)
        output.seek(0)
        lines = output.read().strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the {name} section failed (exit {done.returncode})")
    return json.loads(lines[-1])


if __name__ == "__main__":
    sys.exit(main())

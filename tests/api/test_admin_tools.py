"""The admin CLI's other commands against the session's store and queues (moto over the wire):
exports of members, ledger and points liability, the backfill of index keys, the replay of the
jobs' dead-letter queue; and the CLI run as an operator runs it, in a process of its own."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
from servers import REPO_ROOT
from test_admin_import import ids, phones, this_year, today, write

from admin.__main__ import main
from admin.records import member_record
from chalicelib.store.base import shard_of
from chalicelib.store.dynamo import DynamoUnitOfWork
from chalicelib.store.members import MemberRecord


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_exports_list_members_ledger_and_the_liability_they_add_up_to(tmp_path: Path) -> None:
    first, second = phones(2)
    year, day = this_year(), today()
    assert main(["--quiet", "import", str(write(tmp_path, [
        (first, "导出", "1990-05-01", day, f"{year}:120", f"{year - 1}:1500", ""),
        (second, "", "", "", "", "", "")]))]) == 0
    for what in ("members", "ledger", "liability"):
        assert main(["--quiet", "export", what, "--out", str(tmp_path / f"{what}.csv")]) == 0
        assert (tmp_path / f"{what}.csv").stat().st_mode & 0o777 == 0o600

    exported = {row["member_id"]: row for row in rows(tmp_path / "members.csv")}
    first_id, second_id = ids([first, second])
    assert {k: exported[first_id][k] for k in ("member_id", "name", "birthday", "joined_at", "tier", "growth", "points",
                                             "pending", "points_by_year", "growth_by_year", "orders")} == {
        "member_id": first_id, "name": "导出", "birthday": "1990-05-01", "joined_at": f"{day}T00:00:00+08:00",
        "tier": "silver", "growth": "1500", "points": "120", "pending": "0", "points_by_year": f"{year}:120",
        "growth_by_year": f"{year - 1}:1500", "orders": "0"}
    assert exported[second_id]["phone"] == second and exported[second_id]["points"] == "0"
    assert [(e["seq"], e["delta"], e["reason"], e["ref"]) for e in rows(tmp_path / "ledger.csv")
            if e["member_id"] == first_id] == [("1", "120", "import", str(year))]

    liability = rows(tmp_path / "liability.csv")
    *years, total = liability
    held = sum(int(amount) for row in exported.values() if row["points_by_year"]
               for amount in (pair.split(":")[1] for pair in row["points_by_year"].split(";")))
    assert total["earning_year"] == "total" and int(total["points"]) == held == sum(int(y["points"]) for y in years)
    fen = held * 100 // 100  # the default program's points_redemption.points_per_yuan is 100
    assert int(total["value_fen"]) == fen and total["value_yuan"] == f"{fen // 100}.{fen % 100:02d}"
    assert {str(year): f"{year + 1}-01-01T00:00:00+08:00"}.items() <= {
        y["earning_year"]: y["expires_at"] for y in years}.items()


def test_backfill_gives_members_of_before_the_indexes_their_keys_once(tmp_path: Path) -> None:
    old, older = phones(2)
    day = today()
    assert main(["--quiet", "import", str(write(tmp_path, [(old, "", "", day, "", "", ""),
                                                           (older, "", "", day, "", "", "")]))]) == 0
    old_id, older_id = ids([old, older])
    client = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"])
    table = MemberRecord.Meta.table_name
    for member_id, removed in ((old_id, "life_key"), (older_id, "member_shard, life_shard, life_key")):
        client.update_item(TableName=table, Key={"member_id": {"S": member_id}}, UpdateExpression=f"REMOVE {removed}")

    def keys(member_id: str) -> dict[str, Any]:
        record = DynamoUnitOfWork().read(m=member_record(member_id))["m"]
        return {"member_shard": record.member_shard, "life_shard": record.life_shard, "life_key": record.life_key}

    assert main(["--quiet", "backfill"]) == 0
    for member_id in (old_id, older_id):
        assert keys(member_id) == {"member_shard": shard_of(member_id), "life_shard": shard_of(member_id),
                                   "life_key": f"j#{day}"}
    assert main(["--quiet", "backfill"]) == 0
    assert DynamoUnitOfWork().read(m=member_record(old_id))["m"].version == 1  # the member's writes are not raced


def queues(store_url: str) -> tuple[Any, str, str]:
    sqs = boto3.client("sqs", endpoint_url=store_url)
    name = f"jobs-{uuid.uuid4().hex[:8]}"
    return sqs, sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"], sqs.create_queue(QueueName=name)["QueueUrl"]


def waiting(sqs: Any, url: str) -> list[tuple[str, str]]:
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return sorted((m["Body"], m.get("MessageAttributes", {}).get("job", {}).get("StringValue", ""))
                  for m in answer.get("Messages", []))


def test_replay_moves_the_dead_letters_back_to_the_jobs_queue(store_url: str, capsys) -> None:
    sqs, dlq, queue = queues(store_url)
    for n in range(3):
        sqs.send_message(QueueUrl=dlq, MessageBody=f'{{"segment": {n}}}',
                         MessageAttributes={"job": {"DataType": "String", "StringValue": "rfm-segments"}})
    missing = queue.rsplit("/", 1)[0] + "/no-such-queue"
    assert main(["--quiet", "replay-dlq", "--dlq-url", dlq, "--queue-url", missing, "--sqs-endpoint-url",
                 store_url]) == 1
    assert "0 messages moved, 3 failed" in capsys.readouterr().err

    assert main(["--quiet", "replay-dlq", "--dlq-url", dlq, "--queue-url", queue, "--sqs-endpoint-url",
                 store_url]) == 0
    assert "3 messages moved to the jobs queue, 0 failed" in capsys.readouterr().out
    assert waiting(sqs, queue) == [(f'{{"segment": {n}}}', "rfm-segments") for n in range(3)]
    assert waiting(sqs, dlq) == []


def test_a_file_not_in_the_import_format_changes_nothing(tmp_path: Path, capsys) -> None:
    source = write(tmp_path, [("13800000000", "1990-01-01")], header=("phone", "bday"))
    assert main(["--quiet", "import", str(source)]) == 2
    assert "unknown column(s) bday" in capsys.readouterr().err


def test_the_cli_runs_as_an_operator_runs_it(tmp_path: Path) -> None:
    out = tmp_path / "liability.csv"
    done = subprocess.run([sys.executable, "-m", "admin", "--quiet", "export", "liability", "--out", str(out)],
                          cwd=REPO_ROOT, env={**os.environ}, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert rows(out)[-1]["earning_year"] == "total" and "points" in done.stdout

"""The admin CLI's member import at scale: a generated file of `--import-rows` rows (default 20,000,
one in a hundred with a malformed phone) imported into a fresh embedded store by
`admin.importer.import_file` in this process, every DynamoDB call of the app's shared client
counted; then the same file again (the idempotent re-run, which is also what a resumed run pays
for the rows done before), and the analytics summary of the day read back to check that the
figures hold every imported member and point.

`python bench/run.py --section cli-import --import-rows N` runs this part alone on a fresh local
stack, as `make bench` does."""
from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.reset import moto_at_scale
from bench.stack import Bench

IMPORT_ROWS = 20_000
BAD_ROW_EVERY = 100
COLUMNS = "phone,name,birthday,joined_date,points,growth,tier"


def measure_cli_import(bench: Bench, rows: int) -> dict[str, Any]:
    """Import a generated file twice; the calls, rates and the day's figures afterwards."""
    from chalicelib import clock

    year = clock.business_date().year
    with tempfile.TemporaryDirectory() as folder, moto_at_scale():
        source = Path(folder) / "members.csv"
        source.write_text("\n".join([COLUMNS, *(_row(i, year) for i in range(rows))]) + "\n", encoding="utf-8")
        first = _run(bench, source, Path(folder) / "rejects-1.csv")
        second = _run(bench, source, Path(folder) / "rejects-2.csv")
    today = clock.business_date().isoformat()
    summary = bench.call("GET", f"/v1/admin/analytics/summary?from={today}&to={today}", 200, admin=True).body
    members, points = summary["members"], summary["points"]
    return {
        "rows": rows,
        "first_run": first,
        "second_run": second,
        "figures": {"date": today, "members_new": members["new"], "points_issued": points["issued"],
                    "points_outstanding": points["outstanding"],
                    "tiers": {tier["code"]: tier["members"] for tier in summary["tiers"]},
                    "match": members["new"] == first["imported"]
                    and points["issued"] == first["points"] == points["outstanding"]},
    }


def _row(i: int, year: int) -> str:
    """Member `i`: points of this year, growth over two years spread across the default tiers, a
    birthday and a join date; every BAD_ROW_EVERY-th phone is malformed."""
    phone = f"139{i:08d}" if i % BAD_ROW_EVERY else f"39{i:08d}"
    birthday = f"{1960 + i % 45}-{1 + i % 12:02d}-{1 + i % 28:02d}"
    growth = f"{year - 1}:{(i * 37) % 6000};{year}:{(i * 11) % 6000}"
    return f"{phone},会员{i},{birthday},2019-03-01,{year}:{1 + i % 500},{growth},"


def _run(bench: Bench, source: Path, rejects: Path) -> dict[str, Any]:
    """One import of `source`: what it did, its calls and its pace."""
    from admin.importer import import_file
    from chalicelib import clock
    from chalicelib.store.dynamo import DynamoUnitOfWork

    with bench.meter.record() as recording:
        started = time.perf_counter()
        done = import_file(DynamoUnitOfWork(), source, rejects, clock.now())
        wall_s = time.perf_counter() - started
    calls = Counter(recording.operations)
    return {
        "imported": done.imported, "already_imported": done.already_imported, "rejected": done.rejected,
        "points": done.points, "wall_s": round(wall_s, 1), "rows_per_s": round(done.rows / wall_s, 1),
        "calls": dict(calls), "calls_total": len(recording.operations),
        "calls_per_row": round(len(recording.operations) / done.rows, 4),
        "rows_per_transaction": round(done.imported / calls["TransactWriteItems"], 1)
        if calls["TransactWriteItems"] else None,
    }


def cli_import_markdown(measured: dict[str, Any]) -> str:
    """The import's table for the README."""
    lines = [f"| `python -m admin import`, {measured['rows']:,} rows | imported / before / rejected | wall time "
             "| rows/s | DynamoDB calls | calls per row |", "| --- | --- | --- | --- | --- | --- |"]
    for label, run in (("first run", measured["first_run"]), ("the same file again", measured["second_run"])):
        calls = ", ".join(f"{op} {n:,}" for op, n in sorted(run["calls"].items(), key=lambda kv: -kv[1]))
        lines.append(f"| {label} | {run['imported']:,} / {run['already_imported']:,} / {run['rejected']:,} | "
                     f"{run['wall_s']:g} s | {run['rows_per_s']:g} | {run['calls_total']:,}: {calls} | "
                     f"{run['calls_per_row']:g} |")
    figures = measured["figures"]
    lines += ["", f"The summary of {figures['date']} afterwards: {figures['members_new']:,} new members, "
                  f"{figures['points_issued']:,} points issued and {figures['points_outstanding']:,} outstanding "
                  f"({'equal to' if figures['match'] else 'NOT equal to'} what the import reported); members by "
                  f"tier {', '.join(f'{code} {n:,}' for code, n in figures['tiers'].items())}. "
                  f"{measured['first_run']['rows_per_transaction']:g} members a transaction on average."]
    return "\n".join(lines)

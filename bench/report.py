"""The bench's output: `bench/results.json` and the Markdown tables printed for the README."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any

from bench import REPO_ROOT
from bench.automations import automations_markdown
from bench.cli_import import cli_import_markdown
from bench.imports import IMPORT_RUNS, IMPORT_TARGET_MS
from bench.jobs import member_day_markdown
from bench.package import package_markdown
from bench.rfm import rfm_markdown
from bench.routes import NOTES, TARGETS
from bench.stack import RouteResult

RESULTS_PATH = REPO_ROOT / "bench" / "results.json"


def build_results(routes: dict[str, RouteResult], measured_wechat: dict[str, Any],
                  measured_import: dict[str, Any], reset: dict[str, Any] | None,
                  first_touch: dict[str, Any], summary: dict[str, Any] | None = None,
                  rfm: dict[str, Any] | None = None, member_day: dict[str, Any] | None = None,
                  automations: dict[str, Any] | None = None, cli_import: dict[str, Any] | None = None,
                  package: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """Everything measured, with the targets and the time of measurement, as results.json holds it."""
    return {
        "routes": {route: result.as_json(TARGETS.get(route), NOTES.get(route)) for route, result in routes.items()},
        "wechat": measured_wechat,
        "member_day": member_day,
        "first_touch": first_touch,
        **measured_import,
        "rfm": rfm,
        "automations": automations,
        "reset": reset,
        "summary": summary,
        "cli_import": cli_import,
        "package": package,
        "targets": {**TARGETS, "import_ms": IMPORT_TARGET_MS},
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def previous_results() -> dict[str, Any]:
    """What bench/results.json holds now (empty before any run)."""
    return json.loads(RESULTS_PATH.read_text(encoding="utf-8")) if RESULTS_PATH.exists() else {}


def write_results(results: dict[str, Any]) -> None:
    """Write bench/results.json."""
    RESULTS_PATH.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def record_section(name: str, measured: dict[str, Any]) -> None:
    """Put one section's figures into results.json, the others kept, and print the README table
    of a section that has one."""
    results = previous_results()
    results[name.replace("-", "_")] = measured
    write_results(results)
    if name == "package":
        print(package_markdown(measured), file=sys.stderr)


def print_report(results: dict[str, Any]) -> None:
    """Print the tables, the heaviest imports and where the results went."""
    print(markdown(results))
    for key, label, metric in (("import_heaviest_modules", "Heaviest modules (own time)", "self_ms"),
                               ("import_heaviest_dependencies", "Heaviest dependencies (cumulative)",
                                "cumulative_ms")):
        print(f"{label}: " + ", ".join(f"{m['module']} {m[metric]:g} ms" for m in results[key]))
    print(f"Wrote {RESULTS_PATH.relative_to(REPO_ROOT)}")


def markdown(results: dict[str, Any]) -> str:
    """The README tables: route | DynamoDB round trips | target with numbered notes, the import
    time, then the yearly reset when it ran."""
    lines = ["| route | DynamoDB round trips | target |", "| --- | --- | --- |"]
    notes: list[str] = []
    for route, entry in results["routes"].items():
        method, _, rest = route.partition(" ")
        path, _, variant = rest.partition(" ")
        trips = str(entry["round_trips"])
        if entry["cold_round_trips"] != entry["round_trips"]:
            trips += f" (first call: {entry['cold_round_trips']})"
        target = entry["target_max"]
        goal = "–" if target is None else ("1" if target == 1 else f"≤ {target}")
        if entry["meets_target"] is False:
            goal += " (missed)"
        label = f"`{method} {path}` {variant}".rstrip()
        if entry["note"]:
            notes.append(entry["note"])
            label += f" [{len(notes)}]"
        lines.append(f"| {label} | {trips} | {goal} |")
    lines += ["", *(f"[{i}] {note}" for i, note in enumerate(notes, 1))]
    verdict = "" if results["import_ms"] < IMPORT_TARGET_MS else " (missed)"
    lines += ["", f"`import app`: {results['import_ms']:g} ms (median of {IMPORT_RUNS} fresh "
                  f"`python -X importtime` runs; target < {IMPORT_TARGET_MS} ms{verdict})."]
    if results.get("package"):
        lines += ["", package_markdown(results["package"])]
    lines += ["", first_touch_markdown(results["first_touch"]), "", wechat_markdown(results["wechat"])]
    if results.get("member_day"):
        lines += ["", member_day_markdown(results["member_day"])]
    if results.get("automations"):
        lines += ["", automations_markdown(results["automations"])]
    if results.get("rfm"):
        lines += ["", rfm_markdown(results["rfm"])]
    if results.get("summary"):
        lines += ["", summary_markdown(results["summary"])]
    if results["reset"]:
        lines += ["", reset_markdown(results["reset"])]
    if results.get("cli_import"):
        lines += ["", cli_import_markdown(results["cli_import"])]
    return "\n".join(lines)


def summary_markdown(measured: dict[str, Any]) -> str:
    """The analytics summary's round trips and time, with few members and with many."""
    few, many = measured["members"]["few"], measured["members"]["many"]
    lines = [f"| `GET /v1/admin/analytics/summary` to {measured['as_of'][:10]} | {few:,} members | {many:,} members | "
             "equal round trips |", "| --- | --- | --- | --- |"]
    for name, cost in measured["ranges"].items():
        cells = [f"{cost[size]['round_trips']} round trips, {cost[size]['wall_ms']:g} ms" for size in ("few", "many")]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {'yes' if cost['equal_round_trips'] else 'NO'} |")
    lines += ["", f"The {many - few:,} other members' figures were loaded straight into the store in "
                  f"{measured['synthetic_load_s']:g} s (their histories counted by the app's own tally functions)."]
    return "\n".join(lines)


def _calls(counts: dict[str, int]) -> str:
    """Calls by operation, most first: `TransactWriteItems 200, UpdateItem 200`."""
    return ", ".join(f"{op} {n:,}" for op, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def first_touch_markdown(measured: dict[str, Any]) -> str:
    """The first GetItem of each table after `import app`, against a warm one."""
    verdict = "" if measured["meets_target"] else " (missed)"
    rows = [f"| {table} | {f['first_ms']:g} | {f['warm_ms']:g} | {f['extra_ms']:g} |"
            for table, f in measured["tables"].items()]
    return "\n".join([
        "| first request touching a table after `import app` (fresh interpreter) | first ms | warm ms | extra ms |",
        "| --- | --- | --- | --- |", *rows, "",
        f"Worst extra cost of a first touch: {measured['worst_extra_ms']:g} ms "
        f"(target ≤ {measured['target_extra_ms']} ms{verdict}); the container's first DynamoDB call, "
        f"which opens the connection, took {measured['connect_ms']:g} ms before them.",
    ])


def wechat_markdown(measured: dict[str, Any]) -> str:
    """The push latency and notifier throughput table."""
    push, sends = measured["push"], measured["notify"]
    return "\n".join([
        "| WeChat, in-process (fake WeChat) | |", "| --- | --- |",
        f"| `POST /v1/wechat/push`: {push['pushes']} {push['event']} | p50 {push['p50_ms']:g} ms, "
        f"p95 {push['p95_ms']:g} ms; {push['round_trips_per_push']:g} DynamoDB round trips a push "
        f"({_calls(push['calls'])}) |",
        f"| `notify.send_notice`: {sends['sends']} sends granted by those pushes | "
        f"{sends['sends_per_s']:g} sends/s; {sends['dynamodb_calls_per_send']:g} DynamoDB calls a send "
        f"({_calls(sends['calls'])}); {sends['wechat_calls_per_send']:g} WeChat calls a send |",
    ])


def reset_markdown(reset: dict[str, Any]) -> str:
    """The reset table and the assumption behind its extrapolation."""
    second, check, scale = reset["second_run"], reset["ledger_check"], reset["extrapolation"]
    rows = [
        ("members loaded holding points / without points",
         f"{reset['members_loaded_with_points']:,} / "
         f"{reset['members_loaded_without_points']:,}"),
        ("members expired / points expired", f"{reset['members_expired']:,} (expected "
         f"{reset['expected_members_expired']:,}) / {reset['points_expired']:,}"),
        ("wall time (16 shard segments inline, one after another)",
         f"{reset['wall_s']:g} s ({reset['members_per_s']:g} members/s)"),
        ("DynamoDB calls", f"{reset['calls_total']:,}: {_calls(reset['calls'])}"),
        ("calls per expired member", f"{reset['calls_per_expired_member']} (TransactWriteItems: "
         f"{reset['transactions_per_expired_member']})"),
        ("Query pages (100 members a page; one program GetItem per shard, one to start)",
         f"{reset['query_pages']} (expected {reset['expected_query_pages']})"),
        ("members without points read / calls for them",
         f"{reset['members_without_points_read']} / {reset['calls_for_members_without_points']}"),
        ("second run (idempotency)", f"{second['members_expired']} members expired; "
         f"{second['calls_total']} calls ({_calls(second['calls'])}) in {second['wall_s']:g} s"),
        ("ledger check after both runs", f"{check['members_sampled']} members sampled, "
         f"{check['mismatch_count']} mismatches"),
        ("members still holding expired points after both runs", f"{reset['members_still_holding_expired_points']:,}"),
        (f"{scale['members']:,} members, {scale['parallel_segments']} parallel segments (extrapolated)",
         "–" if scale["wall_s"] is None else f"≈ {scale['wall_s'] / 60:.1f} min"),
    ]
    lines = [f"| `{reset['job']}` as of {reset['as_of']} | |", "| --- | --- |",
             *(f"| {name} | {value} |" for name, value in rows)]
    if scale["assumption"]:
        lines += ["", f"Extrapolation: {scale['assumption']}"]
    lines += ["", f"Members loaded straight into the embedded store in {reset['load_s']:g} s (BatchWriteItem, "
                  "not metered); the bench takes out two costs of moto that grow with table size "
                  "(`moto_at_scale` in bench/reset.py)."]
    return "\n".join(lines)


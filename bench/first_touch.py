"""The first request that touches each model after `import app`, against a warm one: in a fresh
interpreter (a new Lambda container) on the bench's store, one GetItem of each model's table
through the app's unit of work, timed the first time and again warm. With one botocore client
created at import, no model pays for a client of its own. The container's very first call opens
the connection to DynamoDB whatever it touches: it is made (and reported) first, on its own."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from bench import REPO_ROOT

TARGET_EXTRA_MS = 10
REPEATS = 5

SCRIPT = """
import json, statistics, time
from pynamodb.attributes import NumberAttribute
import app  # the Lambda init phase: every import, and the shared client
from chalicelib.store.parts import Get, key_names
from chalicelib.store.tables import ALL_MODELS
from chalicelib.store.dynamo import shared_client
from chalicelib.wiring import uow

def key(model):
    attributes = model.get_attributes()
    return tuple(0 if isinstance(attributes[n], NumberAttribute) else "bench-first-touch"
                 for n in key_names(model) if n)

def timed(model):
    started = time.perf_counter()
    uow().read(item=Get(model, key(model), lambda record: record))
    return (time.perf_counter() - started) * 1000

started = time.perf_counter()
shared_client().list_tables(Limit=1)
connect = (time.perf_counter() - started) * 1000
figures = {}
for model in ALL_MODELS:
    first = timed(model)
    warm = statistics.median(timed(model) for _ in range(%(repeats)d))
    figures[model.Meta.table_name] = {"first_ms": round(first, 2), "warm_ms": round(warm, 2)}
print(json.dumps({"connect_ms": round(connect, 2), "tables": figures}))
"""


def measure_first_touch() -> dict[str, Any]:
    """Per table: the first GetItem after import and a warm one (median), in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", SCRIPT % {"repeats": REPEATS}], cwd=REPO_ROOT,
                          env=dict(os.environ), capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"first-touch measurement failed:\n{done.stderr[-2000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    prefix = os.environ.get("TABLE_PREFIX", "")
    figures = {name.removeprefix(prefix): {**f, "extra_ms": round(f["first_ms"] - f["warm_ms"], 2)}
               for name, f in measured["tables"].items()}
    worst = max(f["extra_ms"] for f in figures.values())
    return {"connect_ms": measured["connect_ms"], "tables": figures, "worst_extra_ms": worst,
            "target_extra_ms": TARGET_EXTRA_MS, "meets_target": worst <= TARGET_EXTRA_MS}

"""The deployment package as Lambda sees it (`--section package`): its size, and a cold start's
import of the app and read of its secrets.

Builds the `dev` package (`python -m infra.package`), unpacks it into a read-only directory (as
`/var/task` is: nothing can be compiled and kept) and, `IMPORT_RUNS` times in a fresh
`python3.12 -I -S` (no site-packages, nothing of this machine's but the standard library), times
`import app` and then the API function's first read of its settings: a Secrets Manager client
and one `GetSecretValue` for each of its two secrets, against the bench's embedded endpoint
(`AWS_ENDPOINT_URL_SECRETS_MANAGER`; AWS answers from within the region, moto from this process).
"""
from __future__ import annotations

import json
import os
import stat
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from bench import REPO_ROOT
from infra import stage_environment
from infra.slim import MAX_ZIP_BYTES, python312

IMPORT_RUNS = 7
IMPORT_TARGET_MS = 220
STAGE = "dev"
SECRETS = {
    "bench/api": {"TOKEN_SECRET": "b" * 48, "ADMIN_API_KEYS": "bench-admin-key-0123456789",
                  "WECHAT_TOKEN": "bench-push-token", "WECHAT_ENCODING_AES_KEY": "B" * 43},
    "bench/wechat": {"WECHAT_APPID": "wx0000000000bench", "WECHAT_SECRET": "bench-wechat-secret"},
}
SCRIPT = """
import json, sys, time
sys.path.insert(0, ".")
started = time.perf_counter()
import app
imported = time.perf_counter()
from chalicelib.config import settings
settings()
print(json.dumps({"import_ms": (imported - started) * 1000, "secrets_ms": (time.perf_counter() - imported) * 1000}))
"""


def measure_package() -> dict[str, Any]:
    """Zip size and contents, and the median import and secrets-read times of `IMPORT_RUNS` cold starts."""
    python = python312()
    if python is None:
        raise RuntimeError("the package bench needs a python3.12")
    endpoint = os.environ["DYNAMODB_ENDPOINT_URL"]  # the bench's embedded moto server serves every service
    secret_ids = _create_secrets(endpoint)
    with tempfile.TemporaryDirectory() as tmp:
        out, tree = Path(tmp) / "package", Path(tmp) / "task"
        subprocess.run([sys.executable, "-m", "infra.package", str(out), "--stage", STAGE], cwd=REPO_ROOT,
                       check=True, capture_output=True)
        archive = out / "deployment.zip"
        with zipfile.ZipFile(archive) as package:
            infos = package.infolist()
            package.extractall(tree)
        for path in [tree, *tree.rglob("*")]:
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        environ = {**stage_environment(STAGE), "PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "us-east-1",
                   "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                   "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint, "SECRET_IDS": ",".join(secret_ids),
                   "SECRET_SETTINGS": ",".join(name for values in SECRETS.values() for name in values)}
        runs = [_cold_start(python, tree, environ) for _ in range(IMPORT_RUNS)]
        for path in [tree, *tree.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
        size = archive.stat().st_size
    import_ms = round(statistics.median(r["import_ms"] for r in runs), 1)
    return {
        "zip_bytes": size, "unpacked_bytes": sum(i.file_size for i in infos), "files": len(infos),
        "target_zip_bytes": MAX_ZIP_BYTES, "import_ms": import_ms,
        "import_runs_ms": [round(r["import_ms"], 1) for r in runs], "target_import_ms": IMPORT_TARGET_MS,
        "secrets_ms": round(statistics.median(r["secrets_ms"] for r in runs), 1),
        "meets_target": size <= MAX_ZIP_BYTES and import_ms <= IMPORT_TARGET_MS,
    }


def _create_secrets(endpoint: str) -> list[str]:
    """The API's two secrets on the embedded endpoint; their ARNs."""
    import boto3

    client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
    return [client.create_secret(Name=name, SecretString=json.dumps(values))["ARN"]
            for name, values in SECRETS.items()]


def _cold_start(python: str, tree: Path, environ: dict[str, str]) -> dict[str, float]:
    """One fresh interpreter's import of the app and first settings read."""
    done = subprocess.run([python, "-I", "-S", "-c", SCRIPT], cwd=tree, env=environ, capture_output=True,
                          text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the package's cold start failed:\n{done.stderr[-2000:]}")
    measured: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


def package_markdown(measured: dict[str, Any]) -> str:
    """The package's table for the README."""
    verdict = "" if measured["meets_target"] else " (missed)"
    return "\n".join([
        "| deployment package (`dev`) | |", "| --- | --- |",
        f"| `deployment.zip` | {measured['zip_bytes'] / 1e6:.2f} MB zipped, {measured['unpacked_bytes'] / 1e6:.2f} MB "
        f"unpacked, {measured['files']} files (target ≤ {measured['target_zip_bytes'] / 1e6:g} MB) |",
        f"| `import app`, `python3.12 -I -S`, read-only copy | {measured['import_ms']:g} ms, median of "
        f"{len(measured['import_runs_ms'])} cold starts (target ≤ {measured['target_import_ms']} ms{verdict}) |",
        f"| the API's first settings read: a Secrets Manager client and 2 `GetSecretValue` (embedded endpoint) | "
        f"{measured['secrets_ms']:g} ms |",
    ])

"""The deployment zip as Lambda runs it: only what runs, with python3.12 bytecode.

`chalice package` zips every distribution of requirements.txt whole. `slim` rewrites that zip:

- it drops what never runs in Lambda: distribution metadata (`*.dist-info`, `*.data`), type stubs,
  pycryptodome's self-tests, dateutil's zoneinfo tarball (the app's zones come from Python's
  `zoneinfo`), botocore's own CA bundle (botocore uses certifi's, which requests needs anyway),
  charset_normalizer's compiled speedups (its pure-Python modules remain; requests consults it
  only for an answer without a charset), and botocore's data for every service but
  `BOTOCORE_SERVICES` (their latest API version, without the examples that only feed
  documentation), in its own folders and in the endpoints every client parses when it is made
  (`endpoints.json`: 1.25 MB for 445 services);
- it strips the symbol tables of the compiled extensions (`strip --strip-unneeded` keeps the
  dynamic symbols Python loads them by): pycryptodome's come with theirs, 1.6 MB of the zip;
- it compiles with python3.12 (`/var/task` is read-only: a module without usable bytecode would be
  compiled again at every cold start). The app's own modules (`app.py`, `chalicelib/`) keep their
  source, for readable tracebacks, next to *unchecked-hash* pycs in `__pycache__` (used whatever
  mtime the zip gives the source: zip times have a 2 s grain). The dependencies ship as bytecode
  only, in place of their sources (the pinned releases on PyPI): their sources would add 3 MB;
- it writes the zip again, sorted, with fixed times, so the same tree gives the same bytes.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

# The AWS services the app calls (a test checks every client the code makes is one of them).
BOTOCORE_SERVICES = ("dynamodb", "sqs", "secretsmanager")
# Top-level botocore data every client reads: endpoints, partitions, retry and default config.
BOTOCORE_SHARED_DATA = ("_retry.json", "endpoints.json", "partitions.json", "sdk-default-configuration.json")
DOCUMENTATION_ONLY = ("examples-1.json",)
DROPPED_TREES = ("*.dist-info", "*.data", "Crypto/SelfTest")
DROPPED_FILES = ("dateutil/zoneinfo/*.tar.gz", "botocore/cacert.pem",
                 "charset_normalizer/*.so", "**/*.pyi", "**/py.typed")
OWN_CODE = ("app.py", "chalicelib")
# The size the deployment zip must stay within (tests/integration/test_package.py, bench/package.py).
MAX_ZIP_BYTES = 7_000_000
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
PYTHON_VERSION = "3.12"


def slim(archive: Path, python: str) -> None:
    """Rewrite `archive` in place: pruned, stripped, and compiled by `python` (a python3.12)."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        with zipfile.ZipFile(archive) as source:
            source.extractall(tree)
        prune(tree)
        strip_extensions(tree)
        compile_tree(tree, python)
        write_zip(tree, archive)


def prune(tree: Path) -> None:
    """Remove from an unpacked package everything the module docstring lists."""
    for pattern in DROPPED_TREES:
        for path in tree.glob(pattern):
            shutil.rmtree(path)
    for pattern in DROPPED_FILES:
        for path in tree.glob(pattern):
            path.unlink()
    data = tree / "botocore" / "data"
    for entry in data.iterdir():
        if entry.is_file():
            if entry.name not in BOTOCORE_SHARED_DATA:
                entry.unlink()
        elif entry.name not in BOTOCORE_SERVICES:
            shutil.rmtree(entry)
        else:
            for old in sorted(v for v in entry.iterdir() if v.is_dir())[:-1]:
                shutil.rmtree(old)
            for name in DOCUMENTATION_ONLY:
                for path in entry.glob(f"*/{name}"):
                    path.unlink()
    endpoints = json.loads((data / "endpoints.json").read_text())
    for partition in endpoints["partitions"]:
        partition["services"] = {name: service for name, service in partition["services"].items()
                                 if name in BOTOCORE_SERVICES}
    (data / "endpoints.json").write_text(json.dumps(endpoints, separators=(",", ":")))


def strip_extensions(tree: Path) -> None:
    """Strip the symbol tables of every compiled extension; raises if binutils' strip is missing."""
    strip = shutil.which("strip")
    if strip is None:
        raise RuntimeError("binutils' `strip` is needed to package (apt-get install binutils)")
    for path in sorted(tree.rglob("*.so")):
        subprocess.run([strip, "--strip-unneeded", str(path)], check=True)


def compile_tree(tree: Path, python: str) -> None:
    """Bytecode by `python` (which must be a python3.12), of the kinds the module docstring says."""
    version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    if version != PYTHON_VERSION:
        raise RuntimeError(f"{python} is Python {version}; the Lambda runtime's bytecode needs {PYTHON_VERSION}")
    own = [tree / name for name in OWN_CODE]
    dependencies = [path for path in tree.iterdir() if path not in own and (path.is_dir() or path.suffix == ".py")]
    compileall = [python, "-m", "compileall", "-q", "-j", "0"]
    # beside the sources, whatever cache prefix the caller's environment sets (`make test` sets one)
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPYCACHEPREFIX"}
    subprocess.run([*compileall, "--invalidation-mode", "unchecked-hash", *map(str, own)], check=True, env=env)
    subprocess.run([*compileall, "-b", *map(str, dependencies)], check=True, env=env)
    for path in dependencies:
        for source in [path] if path.is_file() else path.rglob("*.py"):
            source.unlink()


def write_zip(tree: Path, archive: Path) -> None:
    """Zip `tree` to `archive`: sorted names, fixed times, files readable by everyone (extensions
    also executable)."""
    files = sorted(path for path in tree.rglob("*") if path.is_file())
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(tree).as_posix(), ZIP_TIME)
            info.external_attr = (0o755 if path.suffix == ".so" else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, path.read_bytes(), compresslevel=9)


def python312() -> str | None:
    """A working python3.12 (PATH, then pyenv's versions), or None."""
    pyenv = Path.home() / ".pyenv" / "versions"
    candidates = [shutil.which("python3.12"), *sorted(glob.glob(f"{pyenv}/3.12*/bin/python3.12"))]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    return None

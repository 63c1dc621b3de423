"""The deployment zip holds only what runs in Lambda, within 7 MB, with python3.12 bytecode that
the runtime uses as it is: imported from a read-only copy by `python3.12 -S`, nothing is compiled."""
from __future__ import annotations

import ast
import os
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from infra import stage_environment
from infra.slim import BOTOCORE_SERVICES, MAX_ZIP_BYTES, python312

STAGE = "dev"
OWN_CODE = ("app.py", "chalicelib/")
# Imports the app from the unpacked package (the cwd) as Lambda does, counting every module the
# import machinery compiles from source; then decrypts a WeChat-style AES message with the app's
# own push decryption and builds a client of every AWS service the app calls, in both partitions.
IMPORT_SCRIPT = """
import base64, importlib._bootstrap_external as external, os, sys
sys.path.insert(0, ".")
compiled = []
source_to_code = external.SourceLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    compiled.append(path)
    return source_to_code(self, data, path, *args, **kwargs)
external.SourceLoader.source_to_code = counting
import app
from Crypto.Cipher import AES
from chalicelib.wechat.push import decrypt
key = os.urandom(32)
message = b"<xml>hello</xml>"
plain = os.urandom(16) + len(message).to_bytes(4, "big") + message + b"wxappid"
pad = 32 - len(plain) % 32
sealed = AES.new(key, AES.MODE_CBC, iv=key[:16]).encrypt(plain + bytes([pad]) * pad)
encoding_aes_key = base64.b64encode(key).decode().rstrip("=")
assert decrypt(encoding_aes_key, base64.b64encode(sealed).decode(), "wxappid") == message
import botocore.session
session = botocore.session.get_session()
for region in ("us-east-1", "cn-north-1"):
    for service in sys.argv[1:]:
        session.create_client(service, region_name=region, aws_access_key_id="x", aws_secret_access_key="y")
assert "boto3" not in sys.modules
print(compiled)
"""


def _names(package_dir: Path) -> list[str]:
    with zipfile.ZipFile(package_dir / "deployment.zip") as archive:
        return archive.namelist()


def test_the_zip_is_at_most_7_mb(package_dir: Path) -> None:
    assert (package_dir / "deployment.zip").stat().st_size <= MAX_ZIP_BYTES


def test_only_what_runs_is_shipped(package_dir: Path) -> None:
    names = _names(package_dir)
    tops = {name.split("/")[0] for name in names}
    assert [t for t in tops if t.endswith((".dist-info", ".data"))] == []
    assert tops.isdisjoint({"boto3", "s3transfer", "cryptography", "cffi", "pycparser", "devstack", "tests"})
    services = {name.split("/")[2] for name in names if name.startswith("botocore/data/") and name.count("/") > 2}
    assert services == set(BOTOCORE_SERVICES)
    assert [n for n in names if n.endswith((".pyi", "examples-1.json", ".tar.gz")) or "SelfTest" in n] == []


def test_the_app_keeps_its_source_and_dependencies_ship_bytecode_only(package_dir: Path) -> None:
    names = set(_names(package_dir))
    sources = sorted(n for n in names if n.endswith(".py"))
    assert sources and all(n.startswith(OWN_CODE) for n in sources)
    for source in sources:
        folder, _, module = source.rpartition("/")
        cached = f"{folder + '/' if folder else ''}__pycache__/{module[:-3]}.cpython-312.pyc"
        assert cached in names, source
    assert [n for n in names if n.endswith(".pyc") and "__pycache__" not in n and n.startswith(OWN_CODE)] == []


def test_the_pycs_are_python312_and_never_checked_against_a_source(package_dir: Path) -> None:
    python = python312()
    if python is None:
        pytest.skip("no python3.12")
    magic = subprocess.run([python, "-c", "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"],
                           capture_output=True, text=True, check=True).stdout.strip()
    with zipfile.ZipFile(package_dir / "deployment.zip") as archive:
        for name in (n for n in archive.namelist() if n.endswith(".pyc")):
            header = archive.read(name)[:8]
            assert header[:4].hex() == magic, name
            if "__pycache__" in name:
                assert int.from_bytes(header[4:8], "little") == 0b01, name  # hash-based, unchecked


def test_the_package_imports_on_python312_without_compiling_anything(package_dir: Path, tmp_path: Path) -> None:
    python = python312()
    if python is None:
        pytest.skip("no python3.12")
    with zipfile.ZipFile(package_dir / "deployment.zip") as archive:
        archive.extractall(tmp_path)
    for path in [tmp_path, *tmp_path.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        result = subprocess.run(
            [python, "-I", "-S", "-c", IMPORT_SCRIPT, *BOTOCORE_SERVICES], cwd=tmp_path,
            env={**stage_environment(STAGE), "AWS_DEFAULT_REGION": "us-east-1", "PATH": os.environ["PATH"]},
            capture_output=True, text=True, timeout=120,
        )
    finally:
        for path in [tmp_path, *tmp_path.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert result.returncode == 0, result.stderr
    assert ast.literal_eval(result.stdout.strip().splitlines()[-1]) == []

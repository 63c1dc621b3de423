"""Configuration fails closed: `STAGE` has no default; outside `local` the secrets come from Secrets
Manager (never the environment), each function holds only those it is given, and the app refuses
to start without a strong token key ring, admin keys, WeChat's credentials and safe mode."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from servers import REPO_ROOT

from chalicelib.config import SECRET_SETTINGS, ConfigurationError, load_placement, load_settings

SECRETS = {
    "api": {"TOKEN_SECRET": "x" * 32, "ADMIN_API_KEYS": "k" * 16 + "," + "j" * 20, "WECHAT_TOKEN": "push-token",
            "WECHAT_ENCODING_AES_KEY": "a" * 43},
    "wechat": {"WECHAT_APPID": "wx123", "WECHAT_SECRET": "secret"},
}
API = "TOKEN_SECRET,ADMIN_API_KEYS,WECHAT_APPID,WECHAT_SECRET,WECHAT_TOKEN,WECHAT_ENCODING_AES_KEY"
DEPLOYED = {"STAGE": "prod", "TABLE_PREFIX": "prod-", "SECRET_IDS": "api,wechat", "SECRET_SETTINGS": API}


def read(secret_id: str) -> dict[str, str]:
    """The secrets above by id, as `chalicelib.secrets.read_secret` answers."""
    return SECRETS[secret_id]


def test_a_well_configured_deployment_loads_its_secrets() -> None:
    conf = load_settings(DEPLOYED, read)
    assert (conf.stage, conf.is_local, conf.admin_api_keys) == ("prod", False, ("k" * 16, "j" * 20))
    assert conf.token_secret == "x" * 32 and conf.table_prefix == "prod-" and conf.wechat_appid == "wx123"


def test_a_function_holds_only_the_secrets_it_is_given() -> None:
    reads: list[str] = []
    worker = load_settings({**DEPLOYED, "SECRET_IDS": "wechat", "SECRET_SETTINGS": "WECHAT_APPID,WECHAT_SECRET"},
                           lambda secret_id: reads.append(secret_id) or read(secret_id))
    assert (worker.wechat_appid, worker.wechat_secret, reads) == ("wx123", "secret", ["wechat"])
    assert (worker.token_secret, worker.admin_api_keys, worker.wechat_token) == ("", (), "")
    scheduler = load_settings({"STAGE": "prod", "TABLE_PREFIX": "prod-"}, lambda secret_id: pytest.fail(secret_id))
    assert (scheduler.token_secret, scheduler.wechat_secret) == ("", "")


@pytest.mark.parametrize("stage", [None, "", "   "])
def test_stage_never_defaults_to_local(stage: str | None) -> None:
    environ = {k: v for k, v in DEPLOYED.items() if k != "STAGE"}
    if stage is not None:
        environ["STAGE"] = stage
    with pytest.raises(ConfigurationError, match="STAGE"):
        load_settings(environ, read)
    with pytest.raises(ConfigurationError, match="STAGE"):
        load_settings({})


@pytest.mark.parametrize(("secret", "name", "value"), [
    ("api", "TOKEN_SECRET", None),
    ("api", "TOKEN_SECRET", ""),
    ("api", "TOKEN_SECRET", "x" * 31),
    ("api", "TOKEN_SECRET", "x" * 32 + ",short"),
    ("api", "TOKEN_SECRET", " , "),
    ("api", "ADMIN_API_KEYS", None),
    ("api", "ADMIN_API_KEYS", " , "),
    ("api", "ADMIN_API_KEYS", "k" * 16 + ",short"),
    ("api", "WECHAT_TOKEN", None),
    ("wechat", "WECHAT_SECRET", ""),
    ("api", "WECHAT_ENCODING_AES_KEY", None),
    ("api", "WECHAT_ENCODING_AES_KEY", "a" * 42),
])
def test_a_deployed_stage_refuses_a_missing_or_weak_secret(secret: str, name: str, value: str | None) -> None:
    secrets = {key: dict(values) for key, values in SECRETS.items()}
    secrets[secret].pop(name)
    if value is not None:
        secrets[secret][name] = value
    with pytest.raises(ConfigurationError, match=name):
        load_settings(DEPLOYED, lambda secret_id: secrets[secret_id])


@pytest.mark.parametrize("environ", [
    {**DEPLOYED, "TOKEN_SECRET": "x" * 32},  # a secret as a plain environment variable
    {**DEPLOYED, "SECRET_IDS": ""},  # secrets named, none to read them from
    {**DEPLOYED, "SECRET_SETTINGS": "TOKEN_SECRET,DATABASE_PASSWORD"},
    {**DEPLOYED, "TOKEN_TTL_SECONDS": "0"},
    {**DEPLOYED, "TOKEN_TTL_SECONDS": "²"},
])
def test_a_deployed_stage_refuses_an_unsafe_environment(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        load_settings(environ, read)


def test_the_local_stage_keeps_its_environment_variables() -> None:
    conf = load_settings({"STAGE": "local", "TOKEN_SECRET": "short", "ADMIN_API_KEYS": "local-admin-key"})
    assert conf.is_local and conf.admin_api_keys == ("local-admin-key",) and conf.token_secret == "short"


def test_placement_needs_no_secrets() -> None:
    placed = load_placement({"TABLE_PREFIX": "dev-", "AWS_DEFAULT_REGION": "cn-north-1"})
    assert (placed.table_prefix, placed.dynamodb_endpoint_url, placed.aws_region) == ("dev-", None, "cn-north-1")


def test_the_app_does_not_start_without_a_stage_or_its_secrets() -> None:
    """Importing the app in a Lambda (its init phase) fails with the ConfigurationError; packaging
    (`chalice package` imports the app without the secrets) still can, and so does a function that
    is given no secret."""
    base = {k: v for k, v in os.environ.items() if k not in ("STAGE", "SECRET_IDS", *SECRET_SETTINGS)}
    packaging = subprocess.run([sys.executable, "-c", "import app"], cwd=REPO_ROOT, env={**base, "STAGE": "dev"},
                               capture_output=True, text=True, timeout=60)
    assert packaging.returncode == 0, packaging.stderr
    base["AWS_LAMBDA_FUNCTION_NAME"] = "member-loyalty-prod"
    for environ in ({**base, "TABLE_PREFIX": "prod-"}, {**base, **DEPLOYED, "SECRET_IDS": ""}):
        result = subprocess.run([sys.executable, "-c", "import app"], cwd=REPO_ROOT, env=environ,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0 and "ConfigurationError" in result.stderr, result.stderr
    result = subprocess.run([sys.executable, "-c", "import app"], cwd=REPO_ROOT,
                            env={**base, "STAGE": "prod", "TABLE_PREFIX": "prod-"}, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr

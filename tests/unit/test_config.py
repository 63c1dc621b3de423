"""Configuration fails closed: `STAGE` has no default, and outside `local` the app refuses to
start without a strong token secret, admin keys, WeChat's credentials and safe mode."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from servers import REPO_ROOT

from chalicelib.config import ConfigurationError, load_placement, load_settings

DEPLOYED = {
    "STAGE": "prod", "TABLE_PREFIX": "prod-", "TOKEN_SECRET": "x" * 32, "ADMIN_API_KEYS": "k" * 16 + "," + "j" * 20,
    "WECHAT_APPID": "wx123", "WECHAT_SECRET": "secret", "WECHAT_TOKEN": "push-token",
    "WECHAT_ENCODING_AES_KEY": "a" * 43,
}


def test_a_well_configured_deployment_loads() -> None:
    conf = load_settings(DEPLOYED)
    assert (conf.stage, conf.is_local, conf.admin_api_keys) == ("prod", False, ("k" * 16, "j" * 20))
    assert conf.token_secret == "x" * 32 and conf.table_prefix == "prod-"


@pytest.mark.parametrize("stage", [None, "", "   "])
def test_stage_never_defaults_to_local(stage: str | None) -> None:
    environ = {k: v for k, v in DEPLOYED.items() if k != "STAGE"}
    if stage is not None:
        environ["STAGE"] = stage
    with pytest.raises(ConfigurationError, match="STAGE"):
        load_settings(environ)
    with pytest.raises(ConfigurationError, match="STAGE"):
        load_settings({})


@pytest.mark.parametrize(("name", "value", "named"), [
    ("TOKEN_SECRET", None, "TOKEN_SECRET"),
    ("TOKEN_SECRET", "", "TOKEN_SECRET"),
    ("TOKEN_SECRET", "x" * 31, "TOKEN_SECRET"),
    ("ADMIN_API_KEYS", None, "ADMIN_API_KEYS"),
    ("ADMIN_API_KEYS", " , ", "ADMIN_API_KEYS"),
    ("ADMIN_API_KEYS", "k" * 16 + ",short", "ADMIN_API_KEYS"),
    ("WECHAT_TOKEN", None, "WECHAT_TOKEN"),
    ("WECHAT_SECRET", "", "WECHAT_SECRET"),
    ("WECHAT_ENCODING_AES_KEY", None, "WECHAT_ENCODING_AES_KEY"),
    ("WECHAT_ENCODING_AES_KEY", "a" * 42, "WECHAT_ENCODING_AES_KEY"),
    ("TOKEN_TTL_SECONDS", "0", "TOKEN_TTL_SECONDS"),
    ("TOKEN_TTL_SECONDS", "²", "TOKEN_TTL_SECONDS"),
])
def test_a_deployed_stage_refuses_a_missing_or_weak_secret(name: str, value: str | None, named: str) -> None:
    environ = {k: v for k, v in DEPLOYED.items() if k != name}
    if value is not None:
        environ[name] = value
    with pytest.raises(ConfigurationError, match=named):
        load_settings(environ)


def test_the_local_stage_keeps_its_fakes() -> None:
    conf = load_settings({"STAGE": "local", "TOKEN_SECRET": "short", "ADMIN_API_KEYS": "local-admin-key"})
    assert conf.is_local and conf.admin_api_keys == ("local-admin-key",)


def test_placement_needs_no_secrets() -> None:
    placed = load_placement({"TABLE_PREFIX": "dev-", "AWS_DEFAULT_REGION": "cn-north-1"})
    assert (placed.table_prefix, placed.dynamodb_endpoint_url, placed.aws_region) == ("dev-", None, "cn-north-1")


def test_the_app_does_not_start_without_a_stage_or_with_a_weak_secret() -> None:
    """Importing the app in a Lambda (its init phase) fails with the ConfigurationError; packaging
    (`chalice package` imports the app without the secrets) still can."""
    base = {k: v for k, v in os.environ.items() if k not in DEPLOYED}
    packaging = subprocess.run([sys.executable, "-c", "import app"], cwd=REPO_ROOT, env={**base, "STAGE": "dev"},
                               capture_output=True, text=True, timeout=60)
    assert packaging.returncode == 0, packaging.stderr
    base["AWS_LAMBDA_FUNCTION_NAME"] = "member-loyalty-prod"
    for environ in ({**base, **{k: v for k, v in DEPLOYED.items() if k != "STAGE"}},
                    {**base, **DEPLOYED, "TOKEN_SECRET": ""}):
        result = subprocess.run([sys.executable, "-c", "import app"], cwd=REPO_ROOT, env=environ,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0 and "ConfigurationError" in result.stderr, result.stderr
    result = subprocess.run([sys.executable, "-c", "import app"], cwd=REPO_ROOT, env={**base, **DEPLOYED},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr

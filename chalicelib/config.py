"""Settings read once from the environment, failing closed.

Every stage sets these as Lambda environment variables (`.chalice/config.json` for the non-secret
ones, deployment parameters for the secrets); `make run` fills in local defaults before the app
starts. `STAGE` has no default, and outside the `local` stage nothing secret has one either: a
missing or weak secret is a `ConfigurationError` when the settings are first read (in the Lambda's
init phase), so a misconfigured deployment serves nothing rather than something unsafe.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

LOCAL_STAGE = "local"
MIN_TOKEN_SECRET_CHARS = 32
MIN_ADMIN_KEY_CHARS = 16
AES_KEY_CHARS = 43
MAX_TOKEN_TTL_SECONDS = 30 * 24 * 3600


class ConfigurationError(RuntimeError):
    """The environment does not configure a safe app; the process must not serve."""


@dataclass(frozen=True)
class Settings:
    """The app's configuration for one process."""

    stage: str
    table_prefix: str
    dynamodb_endpoint_url: str | None
    aws_region: str
    wechat_api_base_url: str
    wechat_appid: str
    wechat_secret: str
    wechat_token: str
    wechat_encoding_aes_key: str
    admin_api_keys: tuple[str, ...]
    token_secret: str
    token_ttl_seconds: int
    jobs_queue_url: str | None
    cors_origins: frozenset[str] = frozenset()

    @property
    def is_local(self) -> bool:
        """True in the `local` stage, the only one with a test clock."""
        return self.stage == LOCAL_STAGE


@dataclass(frozen=True)
class Placement:
    """Where the tables are: enough for the models, without the secrets (packaging reads it)."""

    table_prefix: str
    dynamodb_endpoint_url: str | None
    aws_region: str


def load_placement(environ: Mapping[str, str]) -> Placement:
    """The tables' prefix, endpoint and region from `environ`."""
    def env(name: str, default: str = "") -> str:
        return environ.get(name, "").strip() or default

    return Placement(table_prefix=environ.get("TABLE_PREFIX", "local-"),
                     dynamodb_endpoint_url=env("DYNAMODB_ENDPOINT_URL") or None,
                     aws_region=env("AWS_REGION", env("AWS_DEFAULT_REGION", "us-east-1")))


def load_settings(environ: Mapping[str, str]) -> Settings:
    """The settings `environ` gives; ConfigurationError when they are not safe to serve with."""
    def env(name: str, default: str = "") -> str:
        return environ.get(name, "").strip() or default

    stage = env("STAGE")
    if not stage:
        raise ConfigurationError("STAGE is not set: set it explicitly (`local` only for the local stack)")
    ttl = env("TOKEN_TTL_SECONDS", "604800")
    if not (ttl.isascii() and ttl.isdigit() and 0 < int(ttl) <= MAX_TOKEN_TTL_SECONDS):
        raise ConfigurationError(f"TOKEN_TTL_SECONDS must be 1..{MAX_TOKEN_TTL_SECONDS} seconds")
    placement = load_placement(environ)
    loaded = Settings(
        stage=stage, table_prefix=placement.table_prefix, dynamodb_endpoint_url=placement.dynamodb_endpoint_url,
        aws_region=placement.aws_region,
        wechat_api_base_url=env("WECHAT_API_BASE_URL", "https://api.weixin.qq.com").rstrip("/"),
        wechat_appid=env("WECHAT_APPID"), wechat_secret=env("WECHAT_SECRET"), wechat_token=env("WECHAT_TOKEN"),
        wechat_encoding_aes_key=env("WECHAT_ENCODING_AES_KEY"),
        admin_api_keys=tuple(k.strip() for k in env("ADMIN_API_KEYS").split(",") if k.strip()),
        token_secret=env("TOKEN_SECRET"), token_ttl_seconds=int(ttl), jobs_queue_url=env("JOBS_QUEUE_URL") or None,
        cors_origins=frozenset(o.strip().rstrip("/") for o in env("CORS_ORIGINS").split(",") if o.strip()),
    )
    if not loaded.is_local:
        _check_deployed(loaded)
    return loaded


def _check_deployed(conf: Settings) -> None:
    """Outside `local`: a strong token secret, admin keys, WeChat's credentials and safe mode."""
    problems = []
    if len(conf.token_secret) < MIN_TOKEN_SECRET_CHARS:
        problems.append(f"TOKEN_SECRET must be at least {MIN_TOKEN_SECRET_CHARS} characters")
    if not conf.admin_api_keys or any(len(key) < MIN_ADMIN_KEY_CHARS for key in conf.admin_api_keys):
        problems.append(f"ADMIN_API_KEYS must hold keys of at least {MIN_ADMIN_KEY_CHARS} characters each")
    for name in ("wechat_appid", "wechat_secret", "wechat_token"):
        if not getattr(conf, name):
            problems.append(f"{name.upper()} is not set")
    if len(conf.wechat_encoding_aes_key) != AES_KEY_CHARS:
        problems.append(f"WECHAT_ENCODING_AES_KEY must be {AES_KEY_CHARS} characters (safe mode)")
    if problems:
        raise ConfigurationError(f"stage {conf.stage!r} is not safely configured: " + "; ".join(problems))


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this process, read from the environment on first use (ConfigurationError
    when unsafe: see `load_settings`)."""
    return load_settings(os.environ)


@lru_cache(maxsize=1)
def placement() -> Placement:
    """Where this process's tables are, read from the environment on first use."""
    return load_placement(os.environ)

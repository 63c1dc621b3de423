"""Settings read once from the environment, failing closed.

The non-secret settings are Lambda environment variables (`.chalice/config.json`); `make run` fills
in local defaults before the app starts. The secret settings (`SECRET_SETTINGS`) are environment
variables in the `local` stage only. A deployed function is given the secrets it uses and no
others: `SECRET_SETTINGS` names them, and they are read from the AWS Secrets Manager secrets that
`SECRET_IDS` lists (`chalicelib.secrets`, once per container); a secret setting in its environment is
refused. `STAGE` has no default, and outside `local` nothing secret has one either: a missing or
weak secret is a `ConfigurationError` when the settings are first read (in the Lambda's init
phase), so a misconfigured deployment serves nothing rather than something unsafe. A secret a
function was not given reads as empty, which every use refuses (no token is signed or accepted,
no admin key matches, no push is verified).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

LOCAL_STAGE = "local"
MIN_TOKEN_SECRET_CHARS = 32
MIN_ADMIN_KEY_CHARS = 16
AES_KEY_CHARS = 43
MAX_TOKEN_TTL_SECONDS = 30 * 24 * 3600
SECRET_SETTINGS = ("TOKEN_SECRET", "ADMIN_API_KEYS", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_TOKEN",
                   "WECHAT_ENCODING_AES_KEY")
ReadSecret = Callable[[str], Mapping[str, str]]


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


def load_settings(environ: Mapping[str, str], read_secret: ReadSecret | None = None) -> Settings:
    """The settings `environ` gives (deployed: with the secrets `read_secret` reads by id);
    ConfigurationError when they are not safe to serve with."""
    stage = environ.get("STAGE", "").strip()
    if not stage:
        raise ConfigurationError("STAGE is not set: set it explicitly (`local` only for the local stack)")
    secrets = dict(environ) if stage == LOCAL_STAGE else _deployed_secrets(environ, read_secret)

    def env(name: str, default: str = "") -> str:
        return environ.get(name, "").strip() or default

    def secret(name: str) -> str:
        return secrets.get(name, "").strip()

    ttl = env("TOKEN_TTL_SECONDS", "604800")
    if not (ttl.isascii() and ttl.isdigit() and 0 < int(ttl) <= MAX_TOKEN_TTL_SECONDS):
        raise ConfigurationError(f"TOKEN_TTL_SECONDS must be 1..{MAX_TOKEN_TTL_SECONDS} seconds")
    placement = load_placement(environ)
    loaded = Settings(
        stage=stage, table_prefix=placement.table_prefix, dynamodb_endpoint_url=placement.dynamodb_endpoint_url,
        aws_region=placement.aws_region,
        wechat_api_base_url=env("WECHAT_API_BASE_URL", "https://api.weixin.qq.com").rstrip("/"),
        wechat_appid=secret("WECHAT_APPID"), wechat_secret=secret("WECHAT_SECRET"),
        wechat_token=secret("WECHAT_TOKEN"), wechat_encoding_aes_key=secret("WECHAT_ENCODING_AES_KEY"),
        admin_api_keys=tuple(k.strip() for k in secret("ADMIN_API_KEYS").split(",") if k.strip()),
        token_secret=secret("TOKEN_SECRET"), token_ttl_seconds=int(ttl), jobs_queue_url=env("JOBS_QUEUE_URL") or None,
        cors_origins=frozenset(o.strip().rstrip("/") for o in env("CORS_ORIGINS").split(",") if o.strip()),
    )
    if not loaded.is_local:
        _check_deployed(loaded, set(secrets))
    return loaded


def _deployed_secrets(environ: Mapping[str, str], read_secret: ReadSecret | None) -> dict[str, str]:
    """The secret settings `SECRET_SETTINGS` names, from the secrets of `SECRET_IDS`."""
    in_environment = [name for name in SECRET_SETTINGS if environ.get(name, "").strip()]
    if in_environment:
        raise ConfigurationError(f"{', '.join(in_environment)} must not be environment variables outside the "
                                 "local stage: they are read from Secrets Manager (SECRET_IDS)")
    wanted = [name.strip() for name in environ.get("SECRET_SETTINGS", "").split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(SECRET_SETTINGS))
    if unknown:
        raise ConfigurationError(f"SECRET_SETTINGS names unknown settings: {', '.join(unknown)}")
    ids = [secret_id.strip() for secret_id in environ.get("SECRET_IDS", "").split(",") if secret_id.strip()]
    if not wanted:
        return {}
    if not ids or read_secret is None:
        raise ConfigurationError("SECRET_SETTINGS needs the Secrets Manager secrets that hold them (SECRET_IDS)")
    held: dict[str, str] = {}
    for secret_id in ids:
        held.update(read_secret(secret_id))
    missing = [name for name in wanted if not held.get(name, "").strip()]
    if missing:
        raise ConfigurationError(f"the secrets {', '.join(ids)} do not set {', '.join(missing)}")
    return {name: held[name] for name in wanted}


def _check_deployed(conf: Settings, held: set[str]) -> None:
    """Outside `local`, for the secrets the function holds: a strong token key ring, admin keys,
    WeChat's credentials and safe mode."""
    from chalicelib.domain.tokens import token_keys

    problems = []
    keys = token_keys(conf.token_secret)
    if "TOKEN_SECRET" in held and (not keys or any(len(key) < MIN_TOKEN_SECRET_CHARS for key in keys)):
        problems.append(f"TOKEN_SECRET must hold keys of at least {MIN_TOKEN_SECRET_CHARS} characters each")
    admin_keys = conf.admin_api_keys
    if "ADMIN_API_KEYS" in held and (not admin_keys or any(len(key) < MIN_ADMIN_KEY_CHARS for key in admin_keys)):
        problems.append(f"ADMIN_API_KEYS must hold keys of at least {MIN_ADMIN_KEY_CHARS} characters each")
    if "WECHAT_ENCODING_AES_KEY" in held and len(conf.wechat_encoding_aes_key) != AES_KEY_CHARS:
        problems.append(f"WECHAT_ENCODING_AES_KEY must be {AES_KEY_CHARS} characters (safe mode)")
    if problems:
        raise ConfigurationError(f"stage {conf.stage!r} is not safely configured: " + "; ".join(problems))


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this process, read from the environment (and Secrets Manager) on first use
    (ConfigurationError when unsafe: see `load_settings`)."""
    from chalicelib.secrets import read_secret

    return load_settings(os.environ, read_secret)


@lru_cache(maxsize=1)
def placement() -> Placement:
    """Where this process's tables are, read from the environment on first use."""
    return load_placement(os.environ)

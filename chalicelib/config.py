"""Settings read once from the environment.

Every stage sets these as Lambda environment variables (`.chalice/config.json` for the non-secret
ones, deployment parameters for the secrets); `make run` fills in local defaults before the app
starts. Nothing secret has a default outside the `local` stage.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

LOCAL_STAGE = "local"


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


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return Settings(
        stage=_env("STAGE", LOCAL_STAGE),
        table_prefix=os.environ.get("TABLE_PREFIX", "local-"),
        dynamodb_endpoint_url=_env("DYNAMODB_ENDPOINT_URL") or None,
        aws_region=_env("AWS_REGION", _env("AWS_DEFAULT_REGION", "us-east-1")),
        wechat_api_base_url=_env("WECHAT_API_BASE_URL", "https://api.weixin.qq.com").rstrip("/"),
        wechat_appid=_env("WECHAT_APPID"),
        wechat_secret=_env("WECHAT_SECRET"),
        wechat_token=_env("WECHAT_TOKEN"),
        wechat_encoding_aes_key=_env("WECHAT_ENCODING_AES_KEY"),
        admin_api_keys=tuple(k.strip() for k in _env("ADMIN_API_KEYS").split(",") if k.strip()),
        token_secret=_env("TOKEN_SECRET"),
        token_ttl_seconds=int(_env("TOKEN_TTL_SECONDS", "604800")),
        jobs_queue_url=_env("JOBS_QUEUE_URL") or None,
        cors_origins=frozenset(o.strip().rstrip("/") for o in _env("CORS_ORIGINS").split(",") if o.strip()),
    )

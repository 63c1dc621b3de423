"""The deployed stages' secret settings, read from AWS Secrets Manager once per container.

Each secret the function is given (`SECRET_IDS`) holds a JSON object of settings
(`{"WECHAT_APPID": "...", "WECHAT_SECRET": "..."}`); the container reads them when its settings are
first read (the Lambda init phase), one `GetSecretValue` each, and keeps them for its life.
Anything that keeps a secret from being read is a `ConfigurationError`: the function serves nothing.
"""
from __future__ import annotations

import json
from typing import Any

from chalicelib import aws
from chalicelib.config import ConfigurationError, placement

# Bounded like every outbound call: an unreachable Secrets Manager fails the init phase quickly.
CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 2.0
MAX_ATTEMPTS = 3


def read_secret(secret_id: str) -> dict[str, str]:
    """The settings one secret holds; ConfigurationError when it cannot be read or is not a JSON
    object of strings."""
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    config = Config(connect_timeout=CONNECT_TIMEOUT_SECONDS, read_timeout=READ_TIMEOUT_SECONDS,
                    retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"})
    client = aws.session().create_client(
        "secretsmanager", region_name=placement().aws_region, config=config)
    try:
        text = client.get_secret_value(SecretId=secret_id).get("SecretString")
    except ClientError as exc:
        raise ConfigurationError(f"secret {secret_id} cannot be read: {exc.response['Error'].get('Code')}") from None
    except BotoCoreError as exc:
        raise ConfigurationError(f"secret {secret_id} cannot be read: {type(exc).__name__}") from None
    return _settings(secret_id, text)


def _settings(secret_id: str, text: Any) -> dict[str, str]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigurationError(f"secret {secret_id} must hold a JSON object of strings")
    return value

"""chalicelib.secrets reads a deployed function's secrets from Secrets Manager over its wire
protocol (the embedded moto server), and refuses what cannot be read or is not a JSON object."""
from __future__ import annotations

import json
import uuid

import boto3
import pytest

from chalicelib.config import ConfigurationError, load_settings
from chalicelib.secrets import read_secret


@pytest.fixture
def secrets_endpoint(store_url: str, monkeypatch: pytest.MonkeyPatch) -> object:
    """A Secrets Manager client on the embedded server, which the app's reader is pointed at too."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", store_url)
    return boto3.client("secretsmanager", endpoint_url=store_url, region_name="us-east-1")


def test_a_function_reads_the_secrets_it_is_given(secrets_endpoint: object) -> None:
    client: object = secrets_endpoint
    name = f"stack-{uuid.uuid4().hex[:8]}/wechat"
    arn = client.create_secret(Name=name, SecretString=json.dumps(  # type: ignore[attr-defined]
        {"WECHAT_APPID": "wx-from-secrets", "WECHAT_SECRET": "s"}))["ARN"]
    assert read_secret(arn) == {"WECHAT_APPID": "wx-from-secrets", "WECHAT_SECRET": "s"}
    conf = load_settings({"STAGE": "prod", "TABLE_PREFIX": "p-", "SECRET_IDS": arn,
                          "SECRET_SETTINGS": "WECHAT_APPID,WECHAT_SECRET"}, read_secret)
    assert (conf.wechat_appid, conf.token_secret) == ("wx-from-secrets", "")


def test_an_unreadable_or_malformed_secret_stops_the_function(secrets_endpoint: object) -> None:
    client: object = secrets_endpoint
    with pytest.raises(ConfigurationError, match="ResourceNotFoundException"):
        read_secret(f"missing-{uuid.uuid4().hex[:8]}")
    arn = client.create_secret(Name=f"plain-{uuid.uuid4().hex[:8]}", SecretString="not json")["ARN"]  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="JSON object"):
        read_secret(arn)

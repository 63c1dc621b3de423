"""Several local servers on one store, as several Lambda instances: they start together safely."""
from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import requests

from chalicelib.store.tables import ALL_MODELS


def test_two_servers_starting_at_once_on_fresh_tables_share_them(
    live_server: Callable[..., str], store_url: str
) -> None:
    prefix = f"twin-{secrets.token_hex(3)}-"
    with ThreadPoolExecutor(max_workers=2) as pool:
        urls = list(pool.map(lambda _: live_server(TABLE_PREFIX=prefix), range(2)))

    assert len(set(urls)) == 2
    for url in urls:
        assert requests.get(f"{url}/v1/health", timeout=5).json() == {"status": "ok"}
    dynamodb: Any = boto3.client("dynamodb", endpoint_url=store_url, region_name="us-east-1")
    tables = [name for name in dynamodb.list_tables(Limit=100)["TableNames"] if name.startswith(prefix)]
    session_prefix = os.environ["TABLE_PREFIX"]
    expected = sorted(prefix + model.Meta.table_name.removeprefix(session_prefix) for model in ALL_MODELS)
    assert sorted(tables) == expected


def test_in_process_client(client: Any) -> None:
    assert client.http.get("/v1/health").json_body == {"status": "ok"}

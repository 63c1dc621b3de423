"""The embedded store's item reads answer exactly what moto's own serializer answers."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import boto3
from moto.core.responses import ActionResult

from devstack import moto_fast_reads


def test_item_reads_answer_as_moto_does(store_url: str) -> None:
    client = boto3.client("dynamodb", endpoint_url=store_url, region_name="us-east-1")
    table = f"fast-{secrets.token_hex(4)}"
    client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "b", "KeyType": "HASH"}, {"AttributeName": "k", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "b", "AttributeType": "S"},
                                              {"AttributeName": "k", "AttributeType": "S"}])
    try:
        keys = [{"b": {"S": "x"}, "k": {"S": f"{i:03d}"}} for i in range(12)]
        for i, key in enumerate(keys):
            client.put_item(TableName=table, Item={**key, "n": {"N": str(-i)}, "t": {"BOOL": True},
                                                   "z": {"NULL": True},
                                                   "m": {"M": {"l": {"L": [{"N": "1.5"}, {"S": "长"}]}}}})
        reads: list[Callable[[], Any]] = [
            lambda: client.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}}),
            lambda: client.query(TableName=table, KeyConditionExpression="b = :b", Limit=5,
                                 ExpressionAttributeValues={":b": {"S": "x"}}),
            lambda: client.get_item(TableName=table, Key=keys[3]),
            lambda: client.get_item(TableName=table, Key={"b": {"S": "y"}, "k": {"S": "1"}}),
            lambda: client.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": k}} for k in keys[:4]]),
            lambda: client.scan(TableName=table, Limit=4),
        ]
        fast = [_without_metadata(read()) for read in reads]
        ActionResult.execute_result = moto_fast_reads.SERIALIZE  # type: ignore[method-assign]
        try:
            assert fast == [_without_metadata(read()) for read in reads]
        finally:
            moto_fast_reads.install()
    finally:
        client.delete_table(TableName=table)


def _without_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in answer.items() if name != "ResponseMetadata"}

"""The embedded store's item reads answer exactly what moto's own serializer answers."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from moto import mock_aws
from moto.core.responses import ActionResult

from devstack import moto_fast_reads


def test_item_reads_answer_as_moto_does() -> None:
    slow = ActionResult.execute_result
    with mock_aws():
        client = boto3.client("dynamodb", region_name="cn-north-1")
        client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "b", "KeyType": "HASH"},
                                       {"AttributeName": "k", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": "b", "AttributeType": "S"},
                                                  {"AttributeName": "k", "AttributeType": "S"}])
        keys = [{"b": {"S": "x"}, "k": {"S": f"{i:03d}"}} for i in range(12)]
        for i, key in enumerate(keys):
            client.put_item(TableName="t", Item={**key, "n": {"N": str(-i)}, "t": {"BOOL": True}, "z": {"NULL": True},
                                                 "m": {"M": {"l": {"L": [{"N": "1.5"}, {"S": "长"}]}}}})
        reads: list[Callable[[], Any]] = [
            lambda: client.batch_get_item(RequestItems={"t": {"Keys": keys, "ConsistentRead": True}}),
            lambda: client.query(TableName="t", KeyConditionExpression="b = :b", Limit=5,
                                 ExpressionAttributeValues={":b": {"S": "x"}}),
            lambda: client.get_item(TableName="t", Key=keys[3]),
            lambda: client.get_item(TableName="t", Key={"b": {"S": "y"}, "k": {"S": "1"}}),
            lambda: client.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": k}} for k in keys[:4]]),
            lambda: client.scan(TableName="t", Limit=4),
        ]
        try:
            ActionResult.execute_result = slow  # type: ignore[method-assign]
            expected = [_without_metadata(read()) for read in reads]
            moto_fast_reads.install()
            assert [_without_metadata(read()) for read in reads] == expected
        finally:
            moto_fast_reads.install()


def _without_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in answer.items() if name != "ResponseMetadata"}

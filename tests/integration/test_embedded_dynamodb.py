"""The embedded store serializes requests, so racing conditional writes behave as on DynamoDB.

Without the lock, moto lets two racers both pass a condition now and then; a tiny GIL switch
interval during the races makes such interleavings likely, so these tests would catch its loss.
"""
from __future__ import annotations

import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack.dynamodb import EmbeddedDynamoDB

RACERS = 20
ROUNDS = 8


@pytest.fixture
def dynamodb(store_url: str) -> Any:
    """A boto3 DynamoDB client on the session's embedded store."""
    return boto3.client("dynamodb", endpoint_url=store_url, region_name="us-east-1")


@pytest.fixture
def race_table(dynamodb: Any) -> Iterator[str]:
    """A throwaway table keyed by `pk`."""
    name = f"race-{secrets.token_hex(4)}"
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    dynamodb.delete_table(TableName=name)


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Switch threads as often as possible, so that unserialized requests would interleave."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def _race(action: Callable[[int], None]) -> list[str]:
    """Run `action(i)` in RACERS threads released together; return the outcomes, sorted."""
    barrier = threading.Barrier(RACERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            action(i)
            outcome = "won"
        except ClientError as exc:
            outcome = exc.response["Error"]["Code"]
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


@pytest.mark.usefixtures("frequent_thread_switches")
def test_racing_conditional_puts_on_one_key_let_exactly_one_win(dynamodb: Any, race_table: str) -> None:
    for round_no in range(ROUNDS):

        def put(i: int) -> None:
            dynamodb.put_item(
                TableName=race_table,
                Item={"pk": {"S": f"key-{round_no}"}, "writer": {"N": str(i)}},
                ConditionExpression="attribute_not_exists(pk)",
            )

        assert _race(put) == ["ConditionalCheckFailedException"] * (RACERS - 1) + ["won"]


@pytest.mark.usefixtures("frequent_thread_switches")
def test_racing_versioned_transactions_let_exactly_one_win(dynamodb: Any, race_table: str) -> None:
    for round_no in range(ROUNDS):
        key = {"pk": {"S": f"member-{round_no}"}}
        dynamodb.put_item(TableName=race_table, Item={**key, "seq": {"N": "0"}})

        def spend(i: int) -> None:
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": race_table,
                            "Key": key,
                            "UpdateExpression": "SET seq = :next",
                            "ConditionExpression": "seq = :seen",
                            "ExpressionAttributeValues": {":next": {"N": "1"}, ":seen": {"N": "0"}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": race_table,
                            "Item": {"pk": {"S": f"ledger-{round_no}-{i}"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )

        assert _race(spend) == ["TransactionCanceledException"] * (RACERS - 1) + ["won"]
        ledger = dynamodb.scan(
            TableName=race_table,
            FilterExpression="begins_with(pk, :p)",
            ExpressionAttributeValues={":p": {"S": f"ledger-{round_no}-"}},
        )
        assert ledger["Count"] == 1


def test_start_returns_the_endpoint_and_stop_releases_it() -> None:
    store = EmbeddedDynamoDB()
    url = store.start()
    try:
        assert url == store.endpoint_url
        assert url.startswith("http://127.0.0.1:")
        client = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1")
        assert "TableNames" in client.list_tables()
    finally:
        store.stop()
    with pytest.raises(RuntimeError):
        store.endpoint_url  # noqa: B018 (the property raises once stopped)

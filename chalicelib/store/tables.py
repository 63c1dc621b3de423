"""Every table, as the pynamodb models of the aggregate stores: the single source for the app, the
local stack (`create_missing_tables`) and the deployment template (`infra/`)."""
from __future__ import annotations

import time
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError
from pynamodb.models import Model

from chalicelib import aws
from chalicelib.config import placement
from chalicelib.store import (
    analytics,
    automations,
    checkouts,
    coupons,
    idempotency,
    ledger,
    members,
    messaging,
    orders,
    rewards,
    segments,
    settings,
)

ALL_MODELS: tuple[type[Model], ...] = (
    *members.MODELS, *ledger.MODELS, *orders.MODELS, *coupons.MODELS, *rewards.MODELS, *settings.MODELS,
    *idempotency.MODELS, *messaging.MODELS, *analytics.MODELS, *segments.MODELS,
    *automations.MODELS, *checkouts.MODELS,
)

TTL_ATTRIBUTES: dict[type[Model], str] = {
    idempotency.IdempotencyRecord: "expires_at",
    messaging.PushEventRecord: "expires_at",
    messaging.PushNonceRecord: "expires_at",
    messaging.NoticeRecord: "expires_at",
    messaging.NoticeBudgetRecord: "expires_at",
    segments.SnapshotRecord: "expires_at",
}


def create_missing_tables() -> list[str]:
    """Create every table that does not exist yet (local stack and tests); return their names.

    Safe when several processes start at once on one endpoint: a table that another process
    created (`ResourceInUseException`), or that exists but is still CREATING, is waited for
    until it is ACTIVE. Everything goes through one client (`setup_client`): each model's own
    connection would build a botocore client of its own, about 0.2 s of CPU each and as much
    again to free them when the process ends.
    """
    client = setup_client()
    existing: set[str] = set()
    start: dict[str, str] = {}
    while True:
        page = client.list_tables(**start)
        existing.update(page["TableNames"])
        if "LastEvaluatedTableName" not in page:
            break
        start = {"ExclusiveStartTableName": page["LastEvaluatedTableName"]}
    created = []
    for model in ALL_MODELS:
        name = model.Meta.table_name
        if name not in existing:
            try:
                client.create_table(**create_table_request(model))
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceInUseException":
                    raise
            else:
                created.append(name)
        while client.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
            time.sleep(1)
        if name in created and model in TTL_ATTRIBUTES:
            client.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "AttributeName": model.get_attributes()[TTL_ATTRIBUTES[model]].attr_name, "Enabled": True})
    return created


def setup_client() -> Any:
    """A DynamoDB client with pynamodb's patient budget (15 s to connect, 30 s to read, retried),
    not the request budget of the shared client: a local stack starting on a busy machine waits
    for its store rather than failing."""
    conf = placement()
    config = Config(connect_timeout=15, read_timeout=30, retries={"total_max_attempts": 4, "mode": "standard"})
    return aws.session().create_client(
        "dynamodb", region_name=conf.aws_region, endpoint_url=conf.dynamodb_endpoint_url, config=config)


def create_table_request(model: type[Model]) -> dict[str, Any]:
    """The on-demand `CreateTable` request of a model's table, its indexes included (pynamodb's
    schema of the model, each key schema with its HASH key first)."""
    schema = model._get_schema()

    def keys(key_schema: Any) -> list[Any]:
        return sorted(key_schema, key=lambda key: key["KeyType"] != "HASH")

    request: dict[str, Any] = {
        "TableName": model.Meta.table_name, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": schema["attribute_definitions"], "KeySchema": keys(schema["key_schema"]),
    }
    for kind, indexes in (("GlobalSecondaryIndexes", schema["global_secondary_indexes"]),
                          ("LocalSecondaryIndexes", schema["local_secondary_indexes"])):
        if indexes:
            request[kind] = [{"IndexName": index["index_name"], "KeySchema": keys(index["key_schema"]),
                              "Projection": index["projection"]} for index in indexes]
    return request

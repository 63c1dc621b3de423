"""Every table, as the pynamodb models of the aggregate stores: the single source for the app, the
local stack (`create_missing_tables`) and the deployment template (`infra/`)."""
from __future__ import annotations

import time

from pynamodb.exceptions import TableError
from pynamodb.models import Model

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
    until it is ACTIVE.
    """
    created = []
    for model in ALL_MODELS:
        if not model.exists():
            try:
                model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
            except TableError as exc:
                if exc.cause_response_code != "ResourceInUseException":
                    raise
            else:
                created.append(model.Meta.table_name)
                continue
        while model.describe_table().get("TableStatus") != "ACTIVE":
            time.sleep(1)
    return created

"""What tests read and write in the store directly, through the app's own unit of work over the
session's DynamoDB: grants, members, tier changes."""
from __future__ import annotations

import uuid
from datetime import timedelta

from chalicelib import clock
from chalicelib.domain.member import Member
from chalicelib.domain.subscriptions import GrantChange
from chalicelib.domain.tiers import TierChange
from chalicelib.store import ledger, members, messaging
from chalicelib.store.dynamo import DynamoUnitOfWork
from chalicelib.store.parts import every


def uow() -> DynamoUnitOfWork:
    """A unit of work on the session's store."""
    return DynamoUnitOfWork()


def grant(openid: str, template_id: str, grants: int = 1) -> None:
    """Record `grants` accepts of a template by an openid, as a popup push would."""
    uow().write(*messaging.apply_push(openid, f"test#{uuid.uuid4().hex}", "subscribe_msg_popup_event",
                                      [GrantChange(template_id, grants=grants, choice="accept")], clock.now(),
                                      timedelta(days=2)))


def grants(openid: str) -> dict[str, int]:
    """Sends left per template of an openid."""
    return dict(every(uow(), lambda cursor: messaging.grants(openid, cursor)))


def member(member_id: str) -> Member | None:
    """An active member as stored."""
    found: Member | None = uow().read(member=members.member(member_id))["member"]
    return found


def tier_changes(member_id: str) -> list[TierChange]:
    """A member's tier history, oldest first."""
    return every(uow(), lambda cursor: ledger.tier_changes(member_id, cursor))

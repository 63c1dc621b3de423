"""Merchant API (§7) for RFM segments: the latest snapshot with its migrations, and a segment's
members (the targeted issue to a segment is `POST /v1/admin/coupons/issue`)."""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib import messages
from chalicelib.api.declare import ADMIN
from chalicelib.api.http import Call, route
from chalicelib.api.shapes import (
    COUNT,
    FEN,
    INSTANT_TEXT,
    MEMBER,
    PAGE_QUERY,
    RFM,
    RFM_SEGMENT,
    fields,
    nullable,
    page_of,
)
from chalicelib.domain.rfm import SEGMENTS
from chalicelib.errors import ValidationError
from chalicelib.schema import Arr, Obj, Str, req
from chalicelib.services import segments
from chalicelib.wiring import uow

bp = Blueprint(__name__)

SEGMENT_FIGURES = Obj(fields(segment=RFM_SEGMENT, name=Str(64), members=COUNT, monetary_fen=FEN), name="RfmSegment")
MIGRATION = Obj({"from": req(RFM_SEGMENT), "to": req(RFM_SEGMENT), "members": req(COUNT)}, name="RfmMigration")
SNAPSHOT = Obj(fields(
    as_of=nullable(INSTANT_TEXT), previous_as_of=nullable(INSTANT_TEXT),
    segments=Arr(SEGMENT_FIGURES, len(SEGMENTS), min_items=len(SEGMENTS)),
    migrations=Arr(MIGRATION, len(SEGMENTS) * (len(SEGMENTS) - 1)),
), name="RfmSnapshot")
RFM_MEMBER = MEMBER.extend("RfmMember", fields(rfm=RFM))


@route(bp, "GET", "/v1/admin/analytics/rfm", ADMIN, "The latest RFM snapshot: segments and migrations",
       answer=SNAPSHOT)
def rfm_snapshot(call: Call) -> dict[str, Any]:
    return segments.snapshot(uow())


@route(bp, "GET", "/v1/admin/analytics/rfm/members", ADMIN, "The members of an RFM segment in the latest snapshot",
       query={"segment": RFM_SEGMENT, **PAGE_QUERY}, answer=page_of(RFM_MEMBER, "RfmMemberPage"))
def rfm_members(call: Call) -> dict[str, Any]:
    if "segment" not in call.query:
        raise ValidationError(messages.REQUIRED.format("segment"), "segment")
    return segments.segment_members(uow(), call.query["segment"], **call.page)

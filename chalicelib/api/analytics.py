"""Merchant API (§7, §8): the analytics summary and the automations' results."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalice.app import Blueprint

from chalicelib import clock
from chalicelib.api.declare import ADMIN
from chalicelib.api.http import Call, route
from chalicelib.api.shapes import AUTOMATION_RESULT, COUNT, DATE_TEXT, FEN, INSTANT_TEXT, POINTS, fields, list_of
from chalicelib.schema import Arr, Day, Obj, Str
from chalicelib.services import analytics, automations
from chalicelib.wiring import uow

bp = Blueprint(__name__)

DEFAULT_DAYS = 30
DAILY = Obj(fields(date=DATE_TEXT, new_members=COUNT, active_members=COUNT, orders=COUNT, revenue_fen=FEN,
                   buyers=COUNT, points_issued=COUNT, points_spent=COUNT, checkins=COUNT, coupons_used=COUNT),
            name="DailyFigures")
SUMMARY = Obj(fields(
    **{"from": DATE_TEXT}, to=DATE_TEXT, as_of=INSTANT_TEXT,
    members=Obj(fields(total=COUNT, new=COUNT, closed=COUNT, active=COUNT)),
    orders=Obj(fields(count=COUNT, revenue_fen=FEN, refunded_fen=FEN, average_order_fen=FEN, buyers=COUNT,
                      repeat_buyers=COUNT, repurchase_rate_pct=COUNT)),
    points=Obj(fields(issued=COUNT, spent=COUNT, expired=COUNT, clawed_back=COUNT, forfeited=POINTS,
                      outstanding=POINTS, pending=COUNT)),
    coupons=Obj(fields(issued=COUNT, used=COUNT, discount_fen=FEN)),
    checkins=COUNT,
    tiers=Arr(Obj(fields(code=Str(32), name=Str(64), members=COUNT)), 20),
    daily=Arr(DAILY, 366)), name="Summary")


@route(bp, "GET", "/v1/admin/analytics/summary", ADMIN,
       f"Store-wide figures of a date range (default: the last {DEFAULT_DAYS} days to today)",
       query={"from": Day(), "to": Day()}, answer=SUMMARY)
def summary(call: Call) -> dict[str, Any]:
    last = call.query.get("to") or clock.business_date()
    first = call.query.get("from") or last - timedelta(days=DEFAULT_DAYS - 1)
    return analytics.summary(uow(), first, last)


@route(bp, "GET", "/v1/admin/analytics/automations", ADMIN,
       "Each automation ever configured: entries, conversions and revenue by group, lift and significance",
       answer=list_of(AUTOMATION_RESULT, "AutomationResults"))
def automation_results(call: Call) -> dict[str, Any]:
    return automations.results(uow())

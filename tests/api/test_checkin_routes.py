"""Daily check-in through the routes: Shanghai dates, streak bonuses, make-ups, the calendar."""
from __future__ import annotations

from helpers import Api


def check_in(api: Api, token: str, body: dict | None = None):
    return api.call("POST", "/v1/checkins", body or {}, token=token)


def test_check_in_once_per_shanghai_date(api: Api, clock) -> None:
    clock("2026-11-22T23:30:00+08:00")  # 15:30 UTC on the 22nd
    token, member = api.new_member()
    status, body = check_in(api, token)
    assert (status, body) == (201, {"date": "2026-11-22", "streak": 1, "points_awarded": 5,
                                    "bonus_points": 0, "balance": 105})
    status, again = check_in(api, token)
    assert (status, again["error"]["code"]) == (409, "ALREADY_CHECKED_IN")
    clock("2026-11-23T00:10:00+08:00")  # 16:10 UTC, still the 22nd in UTC
    status, next_day = check_in(api, token)
    assert status == 201 and next_day["date"] == "2026-11-23" and next_day["streak"] == 2
    me = api.call("GET", "/v1/members/me", token=token)[1]
    assert me["checkin"] == {"streak": 2, "last_date": "2026-11-23"}
    assert api.call("GET", "/v1/checkins", token=token)[1] == {
        "month": "2026-11", "dates": ["2026-11-22", "2026-11-23"], "streak": 2, "checked_in_today": True}
    assert api.call("GET", "/v1/checkins?month=2026-10", token=token)[1]["dates"] == []
    assert [e["reason"] for e in api.ledger(token)] == ["checkin", "checkin", "signup_gift"]


def test_the_seventh_day_pays_the_streak_bonus(api: Api, clock) -> None:
    clock("2026-11-01T09:00:00+08:00")
    token, member = api.new_member()
    for day in range(1, 8):
        clock(f"2026-11-{day:02d}T09:00:00+08:00")
        token = api.token_for(member["member_id"])
        status, body = check_in(api, token)
    assert (status, body["streak"], body["bonus_points"], body["balance"]) == (201, 7, 20, 100 + 35 + 20)
    assert api.ledger(token)[0]["reason"] == "checkin_streak_bonus"


def test_make_up_costs_points_repairs_the_streak_and_has_a_monthly_limit(api: Api, clock, program) -> None:
    edited, put = program
    edited["checkin"]["makeup"] = {"points_cost": 30, "monthly_limit": 1}
    put()
    assert api.call("GET", "/v1/admin/program", admin=True)[1]["checkin"]["makeup"] == \
        {"points_cost": 30, "monthly_limit": 1}
    clock("2026-11-10T09:00:00+08:00")
    token, member = api.new_member()
    check_in(api, token)
    clock("2026-11-12T09:00:00+08:00")
    token = api.token_for(member["member_id"])
    check_in(api, token)
    status, body = check_in(api, token, {"date": "2026-11-11"})
    assert (status, body["date"], body["streak"], body["balance"]) == (201, "2026-11-11", 3, 100 + 5 + 5 - 30 + 5)
    status, body = check_in(api, token, {"date": "2026-11-09"})
    assert (status, body["error"]["code"]) == (409, "LIMIT_REACHED")
    status, body = check_in(api, token, {"date": "2026-10-31"})
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert api.call("GET", "/v1/checkins", token=token)[1]["dates"] == ["2026-11-10", "2026-11-11", "2026-11-12"]


def test_a_make_up_needs_the_points(api: Api, clock, program) -> None:
    edited, put = program
    edited["checkin"]["makeup"] = {"points_cost": 500, "monthly_limit": 3}
    put()
    clock("2026-11-10T09:00:00+08:00")
    token, _ = api.new_member()
    status, body = check_in(api, token, {"date": "2026-11-09"})
    assert (status, body["error"]["code"]) == (409, "INSUFFICIENT_POINTS")
    assert api.call("GET", "/v1/checkins", token=token)[1]["dates"] == []

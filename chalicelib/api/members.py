"""Member API: health, login, signup, profile, account deletion, check-ins and the points ledger (§3)."""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import clock
from chalicelib.api.declare import PUBLIC, TOKEN
from chalicelib.api.http import Call, route
from chalicelib.api.shapes import COUNT, DATE_TEXT, LEDGER_ENTRY, MEMBER, PAGE_QUERY, POINTS, fields, nullable, page_of
from chalicelib.domain.member import GENDERS, normalise_referral_code
from chalicelib.errors import ValidationError
from chalicelib.schema import Arr, Bool, Day, Enum, Int, Map, Obj, Scalar, Str, opt, req
from chalicelib.services import checkins, members, points
from chalicelib.services.members import Profile
from chalicelib.wiring import uow, wechat

bp = Blueprint(__name__)

PROFILE = {
    "nickname": opt(Str(64, display=True, nullable=True, title="昵称")),
    "avatar_url": opt(Str(1024, pattern="https?://[^\\s]+", nullable=True, title="头像地址")),
    "gender": opt(Enum(GENDERS, title="性别")),
    "birthday": opt(Day(nullable=True, title="生日")),
    "phone_code": opt(Str(128, pattern="[A-Za-z0-9_-]+", title="手机号授权码")),
}
SIGNUP = Obj({**PROFILE, "referral_code": opt(Str(64, nullable=True, title="邀请码"))}, name="SignupRequest")
PROFILE_PATCH = Obj({**PROFILE, "preferences": opt(Map(Scalar(500, title="偏好"), 20, nullable=True,
                                                       title="偏好设置"))}, name="ProfilePatch")
LOGIN_ANSWER = Obj(fields(token=Str(4096), expires_in=Int(1, 10**8), is_member=Bool(), member=nullable(MEMBER)),
                   name="LoginAnswer")
CHECKIN_ANSWER = Obj(fields(date=DATE_TEXT, streak=COUNT, points_awarded=COUNT, bonus_points=COUNT, balance=POINTS),
                     name="CheckinAnswer")
CALENDAR = Obj(fields(month=Str(7), dates=Arr(DATE_TEXT, 31), streak=COUNT, checked_in_today=Bool()),
               name="CheckinCalendar")


@route(bp, "GET", "/v1/health", PUBLIC, "Liveness", answer=Obj(fields(status=Enum(["ok"]))))
def health(call: Call) -> dict[str, str]:
    return {"status": "ok"}


@route(bp, "POST", "/v1/auth/login", PUBLIC, "Exchange a wx.login code for a token",
       body=Obj({"code": req(Str(128, title="登录凭证"))}, name="LoginRequest"), answer=LOGIN_ANSWER,
       refusals=(401, 502))
def login(call: Call) -> dict[str, Any]:
    return members.login(uow(), wechat(), call.body["code"])


@route(bp, "POST", "/v1/members", TOKEN, "Sign up (with the signup gift)", status=201, body=SIGNUP,
       answer=MEMBER, refusals=(409,))
def signup(call: Call) -> dict[str, Any]:
    referral = call.body.get("referral_code")
    return members.signup(uow(), wechat(), call.token, _profile(call.body),
                          normalise_referral_code(referral) if referral else None)


@route(bp, "GET", "/v1/members/me", TOKEN, "The member", answer=MEMBER)
def get_me(call: Call) -> dict[str, Any]:
    return members.get_me(uow(), call.token)


@route(bp, "PATCH", "/v1/members/me", TOKEN, "Update the profile", body=PROFILE_PATCH, answer=MEMBER,
       refusals=(409,))
def update_me(call: Call) -> dict[str, Any]:
    return members.update_me(uow(), wechat(), call.token, _profile(call.body), call.fields)


@route(bp, "DELETE", "/v1/members/me", TOKEN, "Delete the account (PIPL)", status=204)
def delete_me(call: Call) -> Response:
    members.delete_me(uow(), call.token)
    return Response(body="", status_code=204)


@route(bp, "POST", "/v1/checkins", TOKEN, "Check in today (or make up a missed day)", status=201,
       body=Obj({"date": opt(Day(title="补签日期"))}, name="CheckinRequest"), answer=CHECKIN_ANSWER, refusals=(409,))
def check_in(call: Call) -> dict[str, Any]:
    return checkins.check_in_now(uow(), call.token, call.body.get("date"))


@route(bp, "GET", "/v1/checkins", TOKEN, "The check-in calendar of a month", answer=CALENDAR,
       query={"month": Str(7, pattern="[0-9]{4}-(0[1-9]|1[0-2])", title="month")})
def checkin_calendar(call: Call) -> dict[str, Any]:
    return checkins.calendar(uow(), call.token, call.query.get("month"))


@route(bp, "GET", "/v1/points/ledger", TOKEN, "The points ledger, newest first", query=PAGE_QUERY,
       answer=page_of(LEDGER_ENTRY, "LedgerPage"))
def ledger(call: Call) -> dict[str, Any]:
    return points.ledger_page(uow(), call.token, **call.page)


def _profile(body: dict[str, Any]) -> Profile:
    birthday = body.get("birthday")
    if birthday is not None and birthday > clock.business_date():
        raise ValidationError("生日不能晚于今天", "birthday")
    return Profile(
        nickname=body.get("nickname"),
        avatar_url=body.get("avatar_url"),
        gender=body.get("gender"),
        birthday=birthday.isoformat() if birthday else None,
        phone_code=body.get("phone_code"),
        preferences=body.get("preferences"),
    )

"""Member API: health, login, signup, profile, account deletion and the points ledger (§3)."""
from __future__ import annotations

import re
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import clock
from chalicelib.api.http import PUBLIC, TOKEN, Call, endpoint
from chalicelib.domain.member import GENDERS, normalise_referral_code
from chalicelib.domain.validation import (
    ID_MAX,
    NAME_MAX,
    TEXT_MAX,
    URL_MAX,
    parse_date,
    read_enum,
    read_int,
    read_str,
    reject_unknown,
)
from chalicelib.errors import ValidationError
from chalicelib.services import checkins, members, points
from chalicelib.services.members import Profile
from chalicelib.wiring import uow, wechat

bp = Blueprint(__name__)

MONTH = re.compile(r"^\d{4}-\d{2}$")
PROFILE_FIELDS = ("nickname", "avatar_url", "gender", "birthday", "phone_code", "preferences")
MAX_PREFERENCES = 20


@bp.route("/v1/health", methods=["GET"])
@endpoint(PUBLIC)
def health(call: Call) -> dict[str, str]:
    return {"status": "ok"}


@bp.route("/v1/auth/login", methods=["POST"])
@endpoint(PUBLIC)
def login(call: Call) -> dict[str, Any]:
    reject_unknown(call.body, ("code",))
    return members.login(uow(), wechat(), read_str(call.body, "code", max_length=128))


@bp.route("/v1/members", methods=["POST"])
@endpoint(TOKEN, status=201)
def signup(call: Call) -> dict[str, Any]:
    reject_unknown(call.body, PROFILE_FIELDS[:-1] + ("referral_code",))
    referral = read_str(call.body, "referral_code", max_length=ID_MAX, default=None)
    return members.signup(uow(), wechat(), call.token, _profile(call.body),
                          normalise_referral_code(referral) if referral else None)


@bp.route("/v1/members/me", methods=["GET"])
@endpoint(TOKEN)
def get_me(call: Call) -> dict[str, Any]:
    return members.get_me(uow(), call.token)


@bp.route("/v1/members/me", methods=["PATCH"])
@endpoint(TOKEN)
def update_me(call: Call) -> dict[str, Any]:
    reject_unknown(call.body, PROFILE_FIELDS)
    return members.update_me(uow(), wechat(), call.token, _profile(call.body), call.fields)


@bp.route("/v1/members/me", methods=["DELETE"])
@endpoint(TOKEN)
def delete_me(call: Call) -> Response:
    members.delete_me(uow(), call.token)
    return Response(body="", status_code=204)


@bp.route("/v1/checkins", methods=["POST"])
@endpoint(TOKEN, status=201)
def check_in(call: Call) -> dict[str, Any]:
    reject_unknown(call.body, ("date",))
    makeup = read_str(call.body, "date", max_length=10, default=None)
    return checkins.check_in_now(uow(), call.token, parse_date(makeup, "date") if makeup else None)


@bp.route("/v1/checkins", methods=["GET"])
@endpoint(TOKEN)
def checkin_calendar(call: Call) -> dict[str, Any]:
    month = call.query.get("month")
    if month is not None and (not MONTH.match(month) or not 1 <= int(month[5:]) <= 12):
        raise ValidationError("month must be YYYY-MM")
    return checkins.calendar(uow(), call.token, month)


@bp.route("/v1/points/ledger", methods=["GET"])
@endpoint(TOKEN)
def ledger(call: Call) -> dict[str, Any]:
    return points.ledger_page(uow(), call.token, limit=page_limit(call.query),
                              cursor=call.query.get("cursor") or None)


def page_limit(query: dict[str, str]) -> int:
    """`?limit=` of a list route: 1..100, default 20 (`?cursor=` is the store's to check)."""
    if "limit" not in query:
        return 20
    if not query["limit"].isdigit() or not 1 <= int(query["limit"]) <= 100:
        raise ValidationError("limit must be an integer from 1 to 100")
    return int(query["limit"])


def _profile(body: dict[str, Any]) -> Profile:
    birthday = read_str(body, "birthday", max_length=10, default=None, nullable=True)
    if birthday is not None:
        day = parse_date(birthday, "birthday")
        if day.year < 1900 or day > clock.business_date():
            raise ValidationError("birthday must be a past date")
    avatar = read_str(body, "avatar_url", max_length=URL_MAX, default=None, nullable=True)
    if avatar is not None and not avatar.startswith(("https://", "http://")):
        raise ValidationError("avatar_url must be an http(s) URL")
    return Profile(
        nickname=read_str(body, "nickname", max_length=NAME_MAX, default=None, nullable=True),
        avatar_url=avatar,
        gender=read_enum(body, "gender", GENDERS, default=None),
        birthday=birthday,
        phone_code=read_str(body, "phone_code", max_length=128, default=None),
        preferences=_preferences(body),
    )


def _preferences(body: dict[str, Any]) -> dict[str, Any] | None:
    """A flat object of at most 20 keys; values are strings, integers, booleans or null."""
    if body.get("preferences") is None:
        return None
    prefs = body["preferences"]
    if not isinstance(prefs, dict) or len(prefs) > MAX_PREFERENCES:
        raise ValidationError(f"preferences must be an object of at most {MAX_PREFERENCES} keys")
    for key, value in prefs.items():
        if not 1 <= len(key) <= ID_MAX:
            raise ValidationError("preferences keys must be 1 to 64 characters")
        if isinstance(value, str):
            read_str(prefs, key, max_length=TEXT_MAX, min_length=0, prefix="preferences.")
        elif isinstance(value, int) and not isinstance(value, bool):
            read_int(prefs, key, minimum=-(2**53), maximum=2**53, prefix="preferences.")
        elif value is not None and not isinstance(value, bool):
            raise ValidationError(f"preferences.{key} must be a string, integer, boolean or null")
    return prefs

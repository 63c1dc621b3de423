"""The program document (§6) and the local test clock (§4)."""
from __future__ import annotations

import copy
import json
import os
import uuid
from pathlib import Path

import pytest
from helpers import Api

from chalicelib.config import SECRET_SETTINGS, settings
from chalicelib.domain.program import DEFAULT_PROGRAM

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def original(program) -> dict:
    """The stored program as it was (the `program` fixture restores it afterwards)."""
    return copy.deepcopy(program[0])


def test_the_seeded_program_is_the_contract_default(api: Api, original) -> None:
    assert original == DEFAULT_PROGRAM


def test_a_program_change_takes_effect_at_once(api: Api, original) -> None:
    changed = {**original, "signup_gift": {"points": 300, "coupon_template_ids": []}}
    assert api.call("PUT", "/v1/admin/program", changed, admin=True) == (200, changed)
    assert api.call("GET", "/v1/admin/program", admin=True) == (200, changed)
    _, member = api.new_member()
    assert member["points"]["balance"] == 300


def test_tiers_are_computed_from_the_program_on_read(api: Api, original) -> None:
    token, _ = api.new_member()
    tiers = [{"code": "fan", "name": "粉丝", "min_growth": 0, "points_multiplier_pct": 150}]
    assert api.call("PUT", "/v1/admin/program", {**original, "tiers": tiers}, admin=True)[0] == 200
    me = api.call("GET", "/v1/members/me", token=token)[1]
    assert me["tier"] == {"code": "fan", "name": "粉丝", "points_multiplier_pct": 150}
    assert me["growth"] == {"value": 0, "next_tier": None, "to_next": None, "keep": None}


def test_an_invalid_program_names_the_field_and_changes_nothing(api: Api, original) -> None:
    bad = {**original, "checkin": {"points": 5.5, "streak_bonuses": []}}
    status, body = api.call("PUT", "/v1/admin/program", bad, admin=True)
    assert status == 400 and body["error"]["code"] == "VALIDATION_ERROR"
    assert "checkin.points" in body["error"]["message"]
    assert api.call("GET", "/v1/admin/program", admin=True) == (200, original)


def test_the_clock_is_set_and_cleared(api: Api) -> None:
    try:
        status, body = api.call("PUT", "/v1/admin/clock", {"now": "2026-12-31T16:00:00Z"}, admin=True)
        assert (status, body) == (200, {"now": "2027-01-01T00:00:00+08:00"})
        _, member = api.new_member()
        assert member["joined_at"] == "2027-01-01T00:00:00+08:00"
    finally:
        assert api.call("DELETE", "/v1/admin/clock", admin=True) == (204, None)
    _, member = api.new_member()
    assert member["joined_at"] != "2027-01-01T00:00:00+08:00"


@pytest.mark.parametrize("now", ["2026-12-31T16:00:00", "tomorrow", "", 1767196800])
def test_a_clock_without_a_real_instant_is_refused(api: Api, now) -> None:
    status, body = api.call("PUT", "/v1/admin/clock", {"now": now}, admin=True)
    assert status == 400 and body["error"]["code"] == "VALIDATION_ERROR"


def test_the_clock_routes_do_not_exist_outside_the_local_stage(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """In the `prod` stage, whose secrets come from Secrets Manager (the embedded server's)."""
    import boto3
    from chalice.test import Client

    from app import app

    secrets = boto3.client("secretsmanager", endpoint_url=store_url, region_name="us-east-1")
    secret = secrets.create_secret(Name=f"prod-{uuid.uuid4().hex[:8]}",
                                   SecretString=json.dumps({name: os.environ[name] for name in SECRET_SETTINGS}))
    settings.cache_clear()
    try:
        with monkeypatch.context() as environ:
            for name in SECRET_SETTINGS:
                environ.delenv(name)
            environ.setenv("SECRET_IDS", secret["ARN"])
            environ.setenv("SECRET_SETTINGS", ",".join(SECRET_SETTINGS))
            environ.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", store_url)
            with Client(app, stage_name="prod", project_dir=str(REPO_ROOT)) as prod_client:
                for method in ("PUT", "DELETE"):
                    status, body = Api(prod_client).call(method, "/v1/admin/clock",
                                                         {"now": "2027-01-01T00:00:00+08:00"}, admin=True)
                    assert (status, body["error"]["code"]) == (404, "NOT_FOUND")
    finally:
        settings.cache_clear()
    assert settings().stage == "local"

"""The WeChat adapter against the fake WeChat over HTTP, with the token cache in the real store."""
from __future__ import annotations

import dataclasses

import pytest
import storage
from helpers import new_user

from chalicelib import clock
from chalicelib.config import settings
from chalicelib.errors import ValidationError, WeChatCodeInvalid, WeChatUnavailable
from chalicelib.store.settings import SharedTokenCache
from chalicelib.wechat.miniprogram import WeChatGateway


@pytest.fixture
def gateway(fake_wechat) -> WeChatGateway:
    fake_wechat.reset()
    yield WeChatGateway(settings(), SharedTokenCache(storage.uow()))
    fake_wechat.reset()


def test_login_codes_become_sessions_and_bad_codes_are_refused(gateway, fake_wechat) -> None:
    name = new_user()
    session = gateway.code_to_session(f"{name}.1")
    assert session.openid == fake_wechat.openid_for(name) and session.session_key
    with pytest.raises(WeChatCodeInvalid):
        gateway.code_to_session(f"{name}.1")
    with pytest.raises(WeChatCodeInvalid):
        gateway.code_to_session("invalid-1")


def test_wechat_failures_are_wechat_unavailable(gateway, fake_wechat) -> None:
    fake_wechat.inject_fault("/sns/jscode2session", status=503)
    with pytest.raises(WeChatUnavailable):
        gateway.code_to_session(f"{new_user()}.1")
    fake_wechat.inject_fault("/sns/jscode2session", errcode=-1)
    with pytest.raises(WeChatUnavailable):
        gateway.code_to_session(f"{new_user()}.1")
    unreachable = dataclasses.replace(settings(), wechat_api_base_url="http://127.0.0.1:9")
    with pytest.raises(WeChatUnavailable):
        WeChatGateway(unreachable, SharedTokenCache(storage.uow())).code_to_session(f"{new_user()}.1")


def test_the_access_token_is_shared_by_instances_through_the_store(gateway, fake_wechat) -> None:
    token = gateway.access_token()
    fake_wechat.inject_fault("/cgi-bin/stable_token", status=500)  # any call to WeChat now fails
    assert WeChatGateway(settings(), SharedTokenCache(storage.uow())).access_token() == token
    assert SharedTokenCache(storage.uow()).get()[0] == token


def test_an_expiring_shared_token_is_refreshed(gateway) -> None:
    SharedTokenCache(storage.uow()).put("stale-token", int(clock.now().timestamp()) + 60, clock.now())
    fresh = gateway.access_token()
    assert fresh != "stale-token" and SharedTokenCache(storage.uow()).get()[0] == fresh


def test_a_rejected_token_is_refreshed_once_and_the_call_retried(gateway, fake_wechat) -> None:
    gateway.access_token()
    fake_wechat.inject_fault("/wxa/business/getuserphonenumber", errcode=40001)
    assert gateway.phone_number("phone-13612345678") == "13612345678"
    fake_wechat.inject_fault("/wxa/business/getuserphonenumber", errcode=40001, count=2)
    with pytest.raises(WeChatUnavailable):
        gateway.phone_number("phone-13612345679")


def test_a_bad_phone_code_is_a_validation_error(gateway) -> None:
    with pytest.raises(ValidationError):
        gateway.phone_number("invalid-phone")

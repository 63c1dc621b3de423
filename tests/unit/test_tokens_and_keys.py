"""Member tokens are signed and expire, by a ring of keys that rotates without logging anyone out;
admin keys are checked and never echoed."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from chalicelib.domain.tokens import Principal, admin_identity, issue_token, key_id, verify_token
from chalicelib.errors import Unauthenticated

SECRET = "s3cret"


def test_a_token_round_trips_until_it_expires() -> None:
    token = issue_token(SECRET, Principal("o1", "m1"), now=1000, ttl=60)
    assert verify_token(SECRET, token, now=1059) == Principal("o1", "m1")
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, token, now=1060)


@pytest.mark.parametrize("mangle", [
    lambda t: t + "x",
    lambda t: t.split(".")[0],
    lambda t: "e30." + t.split(".")[1],
    lambda t: "",
    lambda t: "a.b.c",
])
def test_forged_or_malformed_tokens_are_refused(mangle) -> None:
    token = issue_token(SECRET, Principal("o1", None), now=0, ttl=60)
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, mangle(token), now=1)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = issue_token("other", Principal("o1", None), now=0, ttl=60)
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, token, now=1)


def test_admin_identity_names_the_key_without_revealing_it() -> None:
    identity = admin_identity(("k-one", "k-two"), "k-two")
    assert identity.startswith("key-") and "k-two" not in identity
    assert identity != admin_identity(("k-one", "k-two"), "k-one")
    for bad in (None, "", "k-three", "k-one "):
        with pytest.raises(Unauthenticated):
            admin_identity(("k-one", "k-two"), bad)


@pytest.mark.parametrize("presented", ["abc.\xe9", "\xe9", "e30.\u4e2d\u6587", "x\ud800y.z", "a.b\ud800"])
def test_a_non_ascii_token_is_unauthenticated(presented: str) -> None:
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, presented, now=1)
    token = issue_token(SECRET, Principal("o1", None), now=0, ttl=60)
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, token + presented, now=1)


@pytest.mark.parametrize("presented", ["k-on\xe9", "\u4e2d\u6587", "k-one\ud800"])
def test_a_non_ascii_admin_key_is_unauthenticated(presented: str) -> None:
    with pytest.raises(Unauthenticated):
        admin_identity(("k-one", "k-two"), presented)


OLD, NEW = "o" * 32, "n" * 32


def test_a_rotated_ring_keeps_old_tokens_valid_until_they_expire() -> None:
    before = issue_token(OLD, Principal("o1", "m1"), now=0, ttl=60)
    after = issue_token(f"{NEW},{OLD}", Principal("o2", None), now=10, ttl=60)
    assert verify_token(f"{NEW},{OLD}", before, now=59) == Principal("o1", "m1")
    assert verify_token(f"{NEW},{OLD}", after, now=69) == Principal("o2", None)
    assert verify_token(NEW, after, now=69) == Principal("o2", None)
    with pytest.raises(Unauthenticated):
        verify_token(f"{NEW},{OLD}", before, now=60)
    for ring, token in ((NEW, before), (OLD, after)):  # a key dropped, or not yet known
        with pytest.raises(Unauthenticated):
            verify_token(ring, token, now=20)


def test_a_token_names_its_key_without_revealing_it() -> None:
    token = issue_token(f"{NEW},{OLD}", Principal("o1", None), now=0, ttl=60)
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert claims["kid"] == key_id(NEW) != key_id(OLD)
    assert NEW[:8] not in claims["kid"] and len(claims["kid"]) == 8


def test_a_token_without_key_id_is_checked_against_every_key() -> None:
    payload = base64.urlsafe_b64encode(b'{"sub":"o1","mid":null,"iat":0,"exp":60}').rstrip(b"=").decode()
    legacy = f"{payload}.{base64.urlsafe_b64encode(hmac.new(OLD.encode(), payload.encode(), hashlib.sha256).digest()).rstrip(b'=').decode()}"
    assert verify_token(f"{NEW},{OLD}", legacy, now=1) == Principal("o1", None)
    with pytest.raises(Unauthenticated):
        verify_token(NEW, legacy, now=1)


def test_an_empty_ring_signs_and_verifies_nothing() -> None:
    token = issue_token(OLD, Principal("o1", None), now=0, ttl=60)
    with pytest.raises(Unauthenticated):
        verify_token(" , ", token, now=1)
    with pytest.raises(ValueError):
        issue_token("", Principal("o1", None), now=0, ttl=60)

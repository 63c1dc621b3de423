"""Member tokens are signed and expire; admin keys are checked and never echoed."""
from __future__ import annotations

import pytest

from chalicelib.domain.tokens import Principal, admin_identity, issue_token, verify_token
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

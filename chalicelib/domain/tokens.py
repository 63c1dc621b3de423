"""Member tokens: HMAC-SHA256 signed, expiring, bound to one WeChat openid.

A token minted before signup is a visitor token (`mid` null); it keeps working after signup,
when the openid is resolved to its member. Format: base64url(JSON payload) "." base64url(MAC).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from chalicelib.errors import Unauthenticated


@dataclass(frozen=True)
class Principal:
    """Who a valid token speaks for: an openid, and the member_id it had when the token was made."""

    openid: str
    member_id: str | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def issue_token(secret: str, principal: Principal, *, now: int, ttl: int) -> str:
    """A token for `principal`, valid `ttl` seconds from `now` (epoch seconds)."""
    payload = _b64(json.dumps({"sub": principal.openid, "mid": principal.member_id,
                               "iat": now, "exp": now + ttl}, separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}"


def verify_token(secret: str, token: str, *, now: int) -> Principal:
    """The principal of a well-formed, authentic, unexpired token; Unauthenticated otherwise."""
    payload, _, mac = token.partition(".")
    if not token.isascii() or not payload or not mac or not hmac.compare_digest(mac, _mac(secret, payload)):
        raise Unauthenticated("登录凭证无效")
    try:
        claims = json.loads(_unb64(payload))
        openid, member_id, expires = claims["sub"], claims["mid"], claims["exp"]
    except (ValueError, KeyError, TypeError):
        raise Unauthenticated("登录凭证无效") from None
    if not isinstance(openid, str) or not isinstance(expires, int) or expires <= now:
        raise Unauthenticated("登录凭证已过期")
    return Principal(openid, member_id if isinstance(member_id, str) else None)


def admin_identity(configured_keys: tuple[str, ...], presented: str | None) -> str:
    """The audit identity (`key-<hash prefix>`, never the key) of a valid admin key, checked in
    constant time against every configured key; Unauthenticated otherwise (a header value that is
    not UTF-8 text, e.g. a lone surrogate, never matches)."""
    presented_bytes = (presented or "").encode("utf-8", "surrogatepass")
    matched = None
    for key in configured_keys:
        if hmac.compare_digest(key.encode("utf-8", "surrogatepass"), presented_bytes):
            matched = key
    if not presented or matched is None:
        raise Unauthenticated("X-Admin-Key 缺失或无效")
    return "key-" + hashlib.sha256(matched.encode()).hexdigest()[:10]

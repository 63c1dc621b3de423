"""Member tokens: HMAC-SHA256 signed, expiring, bound to one WeChat openid.

A token minted before signup is a visitor token (`mid` null); it keeps working after signup,
when the openid is resolved to its member. Format: base64url(JSON payload) "." base64url(MAC).

The signing keys are a ring, `TOKEN_SECRET` as comma-separated secrets: the first signs, every one
verifies. A token names its key by `kid` (derived from the secret, revealing nothing of it), so a
new key can be put first and the old one kept until the tokens it signed have expired, then
dropped: nobody is logged out. A token without `kid` (minted before key ids) is checked against
every key of the ring. An empty ring signs nothing and verifies nothing.
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


def token_keys(ring: str) -> list[str]:
    """The secrets of a ring (`TOKEN_SECRET`), the signing one first."""
    return [secret.strip() for secret in ring.split(",") if secret.strip()]


def key_id(secret: str) -> str:
    """The public name of a key: a MAC of a fixed text, so it tells nothing of the secret."""
    return hmac.new(secret.encode(), b"member-token-key-id", hashlib.sha256).hexdigest()[:8]


def issue_token(ring: str, principal: Principal, *, now: int, ttl: int) -> str:
    """A token for `principal`, valid `ttl` seconds from `now` (epoch seconds), signed by the ring's
    first key; ValueError for an empty ring."""
    keys = token_keys(ring)
    if not keys:
        raise ValueError("no token signing key is configured")
    payload = _b64(json.dumps({"kid": key_id(keys[0]), "sub": principal.openid, "mid": principal.member_id,
                               "iat": now, "exp": now + ttl}, separators=(",", ":")).encode())
    return f"{payload}.{_mac(keys[0], payload)}"


def verify_token(ring: str, token: str, *, now: int) -> Principal:
    """The principal of a well-formed, unexpired token signed by a key of the ring; Unauthenticated
    otherwise."""
    payload, _, mac = token.partition(".")
    if not token.isascii() or not payload or not mac:
        raise Unauthenticated("登录凭证无效")
    try:
        claims = json.loads(_unb64(payload))
        kid = claims.get("kid")
        openid, member_id, expires = claims["sub"], claims["mid"], claims["exp"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise Unauthenticated("登录凭证无效") from None
    keys = [key for key in token_keys(ring) if kid is None or key_id(key) == kid]
    if not any([hmac.compare_digest(mac, _mac(key, payload)) for key in keys]):
        raise Unauthenticated("登录凭证无效")
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

"""The HTTP conventions every route shares, in one place: the error envelope, the 64 KiB limit,
strict JSON bodies, member tokens and admin keys.

Chalice keeps the current request on the app object, which `chalice local`'s threads share; the
middleware below hands each request to its own thread's context instead, and the views read it
from there.
"""
from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from chalice.app import Request, Response

from chalicelib import clock, logs
from chalicelib.config import settings
from chalicelib.domain.tokens import Principal, admin_identity, verify_token
from chalicelib.errors import AppError, PayloadTooLarge, Unauthenticated, ValidationError

MAX_BODY_BYTES = 64 * 1024
JSON_TYPE = "application/json; charset=utf-8"
PUBLIC, TOKEN, OPTIONAL_TOKEN, ADMIN = "public", "token", "optional-token", "admin"

_current_request: ContextVar[Request] = ContextVar("current_request")
log = logging.getLogger("member-loyalty")
logs.configure()

_CHALICE_ERRORS = {
    400: "VALIDATION_ERROR", 403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE", 429: "RATE_LIMITED",
}


@dataclass
class Call:
    """One request as a view sees it: parsed body, query, path parameters and the caller."""

    body: dict[str, Any]
    query: dict[str, str]
    params: dict[str, str]
    principal: Principal | None = None
    actor: str | None = None
    fields: set[str] = field(default_factory=set)
    raw: bytes = b""

    @property
    def token(self) -> Principal:
        """Who the member token of a TOKEN route speaks for."""
        if self.principal is None:
            raise Unauthenticated()
        return self.principal


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON answer, UTF-8 without escaping Chinese text."""
    return Response(body=json.dumps(body, ensure_ascii=False), status_code=status,
                    headers={"Content-Type": JSON_TYPE})


def error_response(status: int, code: str, message: str) -> Response:
    """The contract's error envelope."""
    return json_response({"error": {"code": code, "message": message}}, status)


def envelope_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Bind the request to this thread and put Chalice's own errors (405, 415, 500) in our envelope."""
    _current_request.set(event)
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        status = response.status_code
        message = "服务器内部错误" if status >= 500 else str(body.get("Message", ""))
        return error_response(status, _CHALICE_ERRORS.get(status, "INTERNAL"), message)
    return response


def _raw_body(request: Request) -> bytes:
    raw = request.raw_body or b""
    return raw.encode("utf-8") if isinstance(raw, str) else raw


def _parse_body(request: Request) -> dict[str, Any]:
    raw = _raw_body(request)
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise ValidationError("body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValidationError("body must be a JSON object")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _bearer(request: Request) -> str:
    header: str = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    return token.strip()


def _respond(view: Callable[[Call], Any], call: Call, request: Request, auth: str, status: int,
             json_body: bool) -> Response:
    """Enforce the size, authenticate, parse the body, run the view and render its answer."""
    try:
        if len(call.raw) > MAX_BODY_BYTES:
            raise PayloadTooLarge()
        conf = settings()
        if auth == TOKEN or (auth == OPTIONAL_TOKEN and request.headers.get("authorization")):
            call.principal = verify_token(conf.token_secret, _bearer(request), now=int(clock.now().timestamp()))
        elif auth == ADMIN:
            call.actor = admin_identity(conf.admin_api_keys, request.headers.get("x-admin-key"))
        if json_body and request.method in ("POST", "PUT", "PATCH"):
            call.body = _parse_body(request)
            call.fields = set(call.body)
        result = view(call)
    except AppError as exc:
        if exc.status >= 500:
            log.error("%s %s failed: %s", request.method, request.context.get("resourcePath"), exc.code,
                      exc_info=True)
        return error_response(exc.status, exc.code, exc.message)
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple):
        return json_response(result[1], result[0])
    return json_response(result, status)


def endpoint(auth: str, status: int = 200, *, json_body: bool = True
             ) -> Callable[[Callable[[Call], Any]], Callable[..., Response]]:
    """Wrap a view: enforce size, parse the body (JSON, or kept raw with `json_body=False`),
    authenticate, render its result or its error; log one structured line per request (method,
    route, status, duration, the admin key's identity; never a token, openid or phone).

    A view returns a body (rendered with `status`), a `(status, body)` pair, or a Response.
    """
    def decorate(view: Callable[[Call], Any]) -> Callable[..., Response]:
        @functools.wraps(view)
        def handle(**params: str) -> Response:
            request = _current_request.get()
            started = time.perf_counter()
            call = Call(body={}, query=dict(request.query_params or {}), params=params,
                        raw=_raw_body(request))
            answered = 500
            try:
                response = _respond(view, call, request, auth, status, json_body)
                answered = response.status_code
                return response
            finally:
                log.info("request", extra={"fields": {
                    "method": request.method, "route": request.context.get("resourcePath"), "status": answered,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1), "actor": call.actor}})

        return handle

    return decorate

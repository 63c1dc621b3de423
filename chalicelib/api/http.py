"""The HTTP conventions every route shares, in one place: the error envelope, the 64 KiB limit,
strict JSON bodies, declared queries, member tokens and admin keys, CORS, and one log line per
request.

Chalice keeps the current request on the app object, which `chalice local`'s threads share; the
middleware below hands each request to its own thread's context instead, and the views read it
from there.
"""
from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from chalice.app import Blueprint, Request, Response

from chalicelib import clock, logs, messages
from chalicelib.api.declare import ADMIN, OPTIONAL_TOKEN, ROUTES, TOKEN, RouteSpec
from chalicelib.config import settings
from chalicelib.domain.tokens import Principal, admin_identity, verify_token
from chalicelib.errors import AppError, NotFound, PayloadTooLarge, Unauthenticated, ValidationError
from chalicelib.schema import Int, Obj, Schema, parse_json

MAX_BODY_BYTES = 64 * 1024
DEFAULT_PAGE = 20
JSON_TYPE = "application/json; charset=utf-8"
CORS_HEADERS = "Authorization,Content-Type,X-Admin-Key"

_current_request: ContextVar[Request] = ContextVar("current_request")
log = logging.getLogger("member-loyalty")
logs.configure()

_CHALICE_ERRORS = {
    400: "VALIDATION_ERROR", 403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE", 429: "RATE_LIMITED",
}


@dataclass
class Call:
    """One request as a view sees it: the validated body, query and path parameters, the caller."""

    body: dict[str, Any]
    query: dict[str, Any]
    params: dict[str, str]
    principal: Principal | None = None
    actor: str | None = None
    fields: set[str] = field(default_factory=set)
    raw: bytes = b""

    @property
    def page(self) -> dict[str, Any]:
        """`limit` (default 20) and `cursor` of a list route, as keyword arguments of its service."""
        return {"limit": self.query.get("limit", DEFAULT_PAGE), "cursor": self.query.get("cursor")}

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


def error_response(error: AppError) -> Response:
    """The contract's error envelope (with `field` on a validation error, `Retry-After` when known)."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if isinstance(error, ValidationError):
        body["field"] = error.field
    response = json_response({"error": body}, error.status)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def envelope_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Bind the request to this thread, put Chalice's own errors (405, 415, 500) in our envelope
    and add the CORS headers of an allowed origin."""
    _current_request.set(event)
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        status = response.status_code
        message = "服务器内部错误" if status >= 500 else str(body.get("Message", ""))
        error = AppError(message)
        error.status, error.code = status, _CHALICE_ERRORS.get(status, "INTERNAL")
        response = error_response(error)
    origin = _allowed_origin(event)
    if origin:
        response.headers.update({"Access-Control-Allow-Origin": origin, "Vary": "Origin"})
    return response


def _allowed_origin(request: Request) -> str | None:
    origin = request.headers.get("origin")
    return origin if origin and origin in settings().cors_origins else None


def preflight() -> Response:
    """The answer to a CORS preflight: the allowed methods and headers for a listed origin only."""
    request = _current_request.get()
    headers: dict[str, str | list[str]] = {}
    if _allowed_origin(request):
        headers = {"Access-Control-Allow-Methods": "GET,POST,PUT,PATCH,DELETE,OPTIONS",
                   "Access-Control-Allow-Headers": CORS_HEADERS, "Access-Control-Max-Age": "600"}
    return Response(body="", status_code=204, headers=headers)


def _raw_body(request: Request) -> bytes:
    raw = request.raw_body or b""
    return raw.encode("utf-8") if isinstance(raw, str) else raw


def _read_body(spec: RouteSpec, request: Request, raw: bytes) -> dict[str, Any]:
    """The body as the route declares it (an empty body reads as `{}`)."""
    if spec.body is None or request.method not in ("POST", "PUT", "PATCH"):
        return {}
    value = parse_json(raw) if raw.strip() else {}
    if not isinstance(value, dict):
        raise ValidationError(messages.NOT_OBJECT.format("请求体"), "")
    read: dict[str, Any] = spec.body.read(value, "")
    return read


def read_query(declared: dict[str, Schema], raw: dict[str, str]) -> dict[str, Any]:
    """The declared query parameters, read strictly (integers as ASCII digits); others are ignored."""
    query: dict[str, Any] = {}
    for name, schema in declared.items():
        if name not in raw:
            continue
        text = raw[name]
        if isinstance(schema, Int):
            signed = "-?" if schema.minimum < 0 else ""
            if not re.fullmatch(f"{signed}[0-9]{{1,15}}", text):
                raise ValidationError(messages.NOT_QUERY_INTEGER.format(name), name)
            query[name] = schema.read(int(text), name)
        else:
            query[name] = schema.read(text, name)
    return query


def _path_params(spec: RouteSpec, params: dict[str, str]) -> dict[str, str]:
    """Path parameters as declared; one that cannot be an id of ours is simply not found."""
    for name, value in params.items():
        schema = spec.params.get(name)
        if schema is not None:
            try:
                schema.read(value, name)
            except ValidationError:
                raise NotFound() from None
    return params


def _authenticate(spec: RouteSpec, request: Request, call: Call) -> None:
    conf = settings()
    header = request.headers.get("authorization")
    if spec.auth == TOKEN or (spec.auth == OPTIONAL_TOKEN and header):
        call.principal = verify_token(conf.token_secret, _bearer(header or ""), now=int(clock.now().timestamp()))
    elif spec.auth == ADMIN:
        call.actor = admin_identity(conf.admin_api_keys, request.headers.get("x-admin-key"))


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    return token.strip()


def _respond(spec: RouteSpec, view: Callable[[Call], Any], call: Call, request: Request) -> Response:
    """Enforce the size, authenticate, read the input, run the view and render its answer."""
    try:
        if len(call.raw) > MAX_BODY_BYTES:
            raise PayloadTooLarge()
        _authenticate(spec, request, call)
        call.params = _path_params(spec, call.params)
        call.query = read_query(spec.query, dict(request.query_params or {}))
        call.body = _read_body(spec, request, call.raw)
        call.fields = set(call.body)
        result = view(call)
    except AppError as exc:
        if exc.status >= 500:
            log.error("%s %s failed: %s", request.method, request.context.get("resourcePath"), exc.code,
                      exc_info=True)
        return error_response(exc)
    if isinstance(result, Response):
        return result
    status, body = result if isinstance(result, tuple) else (spec.status, result)
    if spec.answer is not None and status < 300:
        body = spec.answer.shape(body)
    return json_response(body, status)


def handler(spec: RouteSpec, view: Callable[[Call], Any]) -> Callable[..., Response]:
    """The Chalice view of a declared route: one structured log line per request (method, route,
    status, duration, the admin key's identity; never a token, openid or phone)."""
    def handle(**params: str) -> Response:
        request = _current_request.get()
        started = time.perf_counter()
        call = Call(body={}, query={}, params=params, raw=_raw_body(request))
        answered = 500
        try:
            response = _respond(spec, view, call, request)
            answered = response.status_code
            return response
        finally:
            log.info("request", extra={"fields": {
                "method": request.method, "route": request.context.get("resourcePath"), "status": answered,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1), "actor": call.actor}})

    handle.__name__ = view.__name__
    handle.__doc__ = view.__doc__
    return handle


_PREFLIGHT_PATHS: set[str] = set()


def route(bp: Blueprint, method: str, path: str, auth: str, summary: str, *, status: int = 200,
          body: Obj | None = None, query: dict[str, Schema] | None = None, answer: Schema | None = None,
          refusals: tuple[int, ...] = (), content_types: list[str] | None = None,
          path_schemas: dict[str, Schema] | None = None) -> Callable[[Callable[[Call], Any]], Callable[..., Response]]:
    """Declare a route (see `RouteSpec`) and register its view, and a CORS preflight for its path."""
    def decorate(view: Callable[[Call], Any]) -> Callable[..., Response]:
        spec = RouteSpec(method, path, auth, summary, status, body, query or {}, answer, refusals,
                         content_types=tuple(content_types or ()), path_schemas=path_schemas or {},
                         tag=view.__module__.rsplit(".", 1)[-1])
        ROUTES.append(spec)
        view_handler = handler(spec, view)
        kwargs: dict[str, Any] = {"content_types": content_types} if content_types else {}
        bp.route(path, methods=[method], **kwargs)(view_handler)
        if path not in _PREFLIGHT_PATHS:
            _PREFLIGHT_PATHS.add(path)
            bp.route(path, methods=["OPTIONS"], name=f"{view.__name__}_preflight")(lambda **_: preflight())
        return view_handler

    return decorate

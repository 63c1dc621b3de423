"""`GET /v1/openapi.json`: the OpenAPI 3.1 document, generated from the route declarations (the
same ones that read every request and shape every answer), so it cannot drift from the code."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalice.app import Blueprint

from chalicelib.api.declare import ADMIN, OPTIONAL_TOKEN, PUBLIC, ROUTES, TOKEN, RouteSpec
from chalicelib.api.http import Call, route
from chalicelib.api.shapes import ERROR
from chalicelib.schema import Obj, Schema

bp = Blueprint(__name__)

TITLE = "Member loyalty API"
VERSION = "1.0.0"
STATUS_TEXT = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No content", 400: "Invalid input (`VALIDATION_ERROR` names "
    "the `field`)", 401: "Missing, forged or expired credentials", 403: "Not allowed", 404: "Not found (or "
    "another member's)", 409: "Refused by a business rule", 413: "Body over 64 KiB",
    415: "Body not sent as application/json",
    500: "Internal fault", 502: "WeChat unavailable", 503: "Store unavailable (retry after `Retry-After` seconds)",
}
SECURITY: dict[str, list[dict[str, list[str]]]] = {
    TOKEN: [{"memberToken": []}], ADMIN: [{"adminKey": []}], OPTIONAL_TOKEN: [{}, {"memberToken": []}], PUBLIC: []}


def _error_statuses(spec: RouteSpec) -> list[int]:
    statuses = {400, 500, 503, *spec.refusals}
    if spec.auth != PUBLIC:
        statuses.add(401)
    if spec.auth == TOKEN:
        statuses.update((403, 502))
    if spec.params:
        statuses.add(404)
    if spec.body is not None or spec.content_types:
        statuses.update((413, 415))
    return sorted(statuses)


def _parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    params = [{"name": name, "in": "path", "required": True, "schema": schema.json_schema()}
              for name, schema in spec.params.items()]
    params += [{"name": name, "in": "query", "required": False, "schema": _query_schema(schema),
                **({"description": schema.description} if schema.description else {})}
               for name, schema in spec.query.items()]
    return params


def _query_schema(schema: Schema) -> dict[str, Any]:
    doc = schema.json_schema()
    doc.pop("description", None)
    return doc


def _request_body(spec: RouteSpec) -> dict[str, Any] | None:
    if spec.content_types:
        return {"required": True, "content": {kind: {"schema": {"type": "string", "maxLength": 65536}}
                                              for kind in spec.content_types}}
    if spec.body is None:
        return None
    return {"required": any(p.required for p in spec.body.props.values()),
            "content": {"application/json": {"schema": spec.body.json_schema()}}}


def _success(spec: RouteSpec) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": STATUS_TEXT.get(spec.status, "OK")}
    if spec.answer is not None:
        answer["content"] = {"application/json": {"schema": spec.answer.json_schema()}}
    elif spec.status != 204:
        answer["content"] = {"text/plain": {"schema": {"type": "string"}}}
    return answer


def _operation(spec: RouteSpec) -> dict[str, Any]:
    responses: dict[str, Any] = {str(spec.status): _success(spec)}
    for status in _error_statuses(spec):
        headers = {"Retry-After": {"schema": {"type": "integer"}}} if status == 503 else {}
        responses[str(status)] = {"description": STATUS_TEXT[status], **({"headers": headers} if headers else {}),
                                  "content": {"application/json": {"schema": ERROR.json_schema()}}}
    operation: dict[str, Any] = {"operationId": f"{spec.method.lower()}_{spec.path}".replace("/", "_")
                                 .replace("{", "").replace("}", "").replace("-", "_").replace("__", "_"),
                                 "summary": spec.summary, "tags": [spec.tag], "security": SECURITY[spec.auth],
                                 "parameters": _parameters(spec), "responses": responses}
    body = _request_body(spec)
    if body is not None:
        operation["requestBody"] = body
    return operation


def _components() -> dict[str, Any]:
    named: dict[str, Obj] = {ERROR.name or "Error": ERROR}
    for spec in ROUTES:
        for schema in (spec.body, spec.answer, *spec.query.values()):
            for obj in schema.named() if schema is not None else []:
                named.setdefault(obj.name or "", obj)
    return {
        "schemas": {name: obj.definition() for name, obj in sorted(named.items())},
        "securitySchemes": {
            "memberToken": {"type": "http", "scheme": "bearer", "description": "The token of `POST /v1/auth/login`."},
            "adminKey": {"type": "apiKey", "in": "header", "name": "X-Admin-Key"},
        },
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document of the routes declared in this process."""
    paths: dict[str, dict[str, Any]] = {}
    for spec in ROUTES:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION,
                 "description": "The member and merchant API of the loyalty backend. See docs/api.md."},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": _components(),
    }


@route(bp, "GET", "/v1/openapi.json", PUBLIC, "This OpenAPI document",
       answer=Obj({}, open=True, description="An OpenAPI 3.1 document."))
def openapi(call: Call) -> dict[str, Any]:
    return document()

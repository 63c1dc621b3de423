"""The machine-readable contract (§10): `GET /v1/openapi.json` from a live server, without auth, is a
valid OpenAPI 3.1 document of every route the app serves, each with its auth scheme and the error
envelope on every error status."""
from __future__ import annotations

from typing import Any

import pytest
import requests
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

SECURITY_SCHEMES = {"memberToken": {"type": "http", "scheme": "bearer"},
                    "adminKey": {"type": "apiKey", "in": "header", "name": "X-Admin-Key"}}


@pytest.fixture(scope="module")
def document(attack_server: str) -> dict[str, Any]:
    response = requests.get(f"{attack_server}/v1/openapi.json", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def served_routes() -> set[tuple[str, str]]:
    """(METHOD, path) of every route registered in the Chalice app, CORS preflights aside."""
    from app import app

    return {(method, path) for path, methods in app.routes.items() for method in methods if method != "OPTIONS"}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, operation) for path, item in document["paths"].items()
            for method, operation in item.items()]


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_every_served_route_is_documented_with_its_method_and_nothing_else(document: dict[str, Any]) -> None:
    documented = {(method, path) for method, path, _ in operations(document)}
    served = served_routes()
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
    assert len(served) >= 40


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))


def test_the_error_envelope_is_declared_as_the_contract_says(document: dict[str, Any]) -> None:
    error = resolve(document, {"$ref": "#/components/schemas/Error"})
    assert error["type"] == "object" and error["required"] == ["error"]
    assert error.get("additionalProperties") is False
    inner = resolve(document, error["properties"]["error"])
    assert set(inner["properties"]) == {"code", "message", "field"}
    assert set(inner["required"]) >= {"code", "message"} and "field" not in inner["required"]
    assert inner.get("additionalProperties") is False


def test_every_operation_documents_its_errors_with_the_envelope(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        responses = operation["responses"]
        errors = {status for status in responses if status.isdigit() and int(status) >= 400}
        expected = {"400", "500", "503"}
        if operation["security"]:
            expected.add("401")
        if "{" in path:
            expected.add("404")
        if "requestBody" in operation:
            expected.add("413")
        assert expected <= errors, f"{method} {path}: {sorted(errors)}"
        for status in errors:
            content = responses[status]["content"]
            assert list(content) == ["application/json"], f"{method} {path} {status}"
            assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, \
                f"{method} {path} {status}"
        assert "Retry-After" in responses["503"].get("headers", {}), f"{method} {path}"
        successes = [status for status in responses if status.startswith("2")]
        assert len(successes) == 1, f"{method} {path}: {successes}"


def test_every_operation_states_its_auth_scheme(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    for name, expected in SECURITY_SCHEMES.items():
        assert expected.items() <= schemes[name].items()
    for method, path, operation in operations(document):
        assert "security" in operation, f"{method} {path}"
        required = [set(option) for option in operation["security"]]
        assert all(names <= set(schemes) for names in required), f"{method} {path}"
        if path.startswith("/v1/admin/"):
            assert required == [{"adminKey"}], f"{method} {path}"
        elif path in ("/v1/rewards", "/v1/coupon-center"):
            assert required == [set(), {"memberToken"}], f"{method} {path}: a visitor may browse"
        elif path in ("/v1/health", "/v1/auth/login", "/v1/wechat/push", "/v1/openapi.json"):
            assert required == [], f"{method} {path}: public"
        else:
            assert required == [{"memberToken"}], f"{method} {path}"


def test_request_bodies_are_closed_json_objects(document: dict[str, Any]) -> None:
    """Unknown fields are refused (§1), so every JSON request body says so."""
    for method, path, operation in operations(document):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content or path == "/v1/wechat/push":
            continue
        schema = resolve(document, content["application/json"]["schema"])
        assert schema["type"] == "object", f"{method} {path}"
        assert schema.get("additionalProperties") is False, f"{method} {path}"


def test_the_document_needs_no_auth_and_refuses_nothing(attack_server: str) -> None:
    forged = requests.get(f"{attack_server}/v1/openapi.json", headers={"Authorization": "Bearer forged",
                                                                       "X-Admin-Key": "wrong"}, timeout=30)
    assert forged.status_code == 200 and forged.json()["openapi"].startswith("3.1")

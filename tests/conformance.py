"""Every answer the service gives conforms to its OpenAPI document (contract §10): `Api.call`
checks each response of the suite against the document's schema for its route and status."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import jsonschema


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    import app  # noqa: F401  (declares every route)
    from chalicelib.api.openapi import document

    return document()


@lru_cache(maxsize=1)
def _templates() -> list[tuple[re.Pattern[str], str]]:
    paths = sorted(_document()["paths"], key=lambda p: (p.count("{"), -len(p)))
    return [(re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", path) + "$"), path) for path in paths]


@lru_cache(maxsize=512)
def _validator(path: str, method: str, status: int) -> jsonschema.Draft202012Validator | None:
    operation = _document()["paths"][path][method]
    answer = operation["responses"].get(str(status))
    assert answer is not None, f"{method.upper()} {path} answered {status}, which its operation does not document"
    schema = answer.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    return jsonschema.Draft202012Validator({**schema, "components": _document()["components"]})


def assert_conforms(method: str, url: str, status: int, body: Any) -> None:
    """Fail unless `body` is what the document says `method url` answers with `status`."""
    path = url.split("?", 1)[0]
    template = next((t for pattern, t in _templates() if pattern.match(path)), None)
    operations = _document()["paths"][template] if template else {}
    if method.lower() not in operations:
        return  # not a route of ours: the gateway's answer, or Chalice's 405
    validator = _validator(template, method.lower(), status)
    if validator is not None and body is not None:
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{method} {path} → {status}: {errors[0].message} at {list(errors[0].path)}"

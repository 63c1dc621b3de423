"""The API reference (docs/api.md) indexes exactly the routes of the OpenAPI document, which is a
valid OpenAPI 3.1 document generated from the route declarations."""
from __future__ import annotations

import re
from pathlib import Path

from openapi_spec_validator import validate

import app  # noqa: F401  (declares every route)
from chalicelib.api.openapi import document

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = document()
    validate(doc)
    assert doc["openapi"].startswith("3.1")


def test_the_reference_indexes_every_route_and_no_other() -> None:
    index = DOCS.read_text().split("## Routes", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/v1/[^`]*)`", index))
    declared = {(method.upper(), path) for path, ops in document()["paths"].items() for method in ops}
    assert documented == declared

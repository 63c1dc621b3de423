"""The base of every declaration: reading, shaping, JSON Schema and JSON paths."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.schema.containers import Obj

REF_ROOT = "#/components/schemas/"


def child(path: str, key: str | int) -> str:
    """The JSON path of a property (`a.b`) or an item (`a[2]`) under `path`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Schema:
    """One declared JSON value. Subclasses implement `_read` and `_json`."""

    nullable = False
    title: str | None = None
    description: str | None = None

    def read(self, value: Any, path: str = "") -> Any:
        """The validated value (None when null is allowed and sent)."""
        if value is None and self.nullable:
            return None
        return self._read(value, path)

    def shape(self, value: Any) -> Any:
        """The answer as declared (objects keep only their declared properties)."""
        return value

    def json_schema(self) -> dict[str, Any]:
        """This declaration as JSON Schema."""
        doc = self._json()
        if self.nullable:
            doc = or_null(doc)
        if self.description:
            doc = {**doc, "description": self.description}
        return doc

    def named(self) -> list[Obj]:
        """Every named object declared within (for the OpenAPI components)."""
        return []

    def label(self, path: str) -> str:
        """How a message names the input: its Chinese title, else its path."""
        return self.title or path or "请求体"

    def _read(self, value: Any, path: str) -> Any:
        raise NotImplementedError

    def _json(self) -> dict[str, Any]:
        raise NotImplementedError


def or_null(doc: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in doc or "oneOf" in doc or "enum" in doc:
        return {"anyOf": [doc, {"type": "null"}]}
    return {**doc, "type": [doc["type"], "null"]}



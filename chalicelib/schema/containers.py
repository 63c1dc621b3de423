"""Declarations of JSON structures: objects of declared properties, lists, free-key maps and
tagged unions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import messages
from chalicelib.errors import ValidationError
from chalicelib.schema.base import REF_ROOT, Schema, child, or_null
from chalicelib.schema.scalars import clean_text


@dataclass
class Arr(Schema):
    """A list of `min_items`..`max_items` items of one declaration."""

    items: Schema
    max_items: int
    min_items: int = 0
    nullable: bool = False
    title: str | None = None
    description: str | None = None

    def _read(self, value: Any, path: str) -> list[Any]:
        label = self.label(path)
        if not isinstance(value, list):
            raise ValidationError(messages.NOT_LIST.format(label), path)
        if not self.min_items <= len(value) <= self.max_items:
            raise ValidationError(messages.LIST_LENGTH.format(label, self.min_items, self.max_items), path)
        return [self.items.read(item, child(path, i)) for i, item in enumerate(value)]

    def shape(self, value: Any) -> Any:
        return [self.items.shape(item) for item in value] if isinstance(value, list) else value

    def named(self) -> list[Obj]:
        return self.items.named()

    def _json(self) -> dict[str, Any]:
        return {"type": "array", "items": self.items.json_schema(), "minItems": self.min_items,
                "maxItems": self.max_items}


@dataclass
class Map(Schema):
    """A JSON object of up to `max_keys` free keys (1..`key_length` characters), each value declared."""

    values: Schema
    max_keys: int
    key_length: int = 64
    nullable: bool = False
    title: str | None = None
    description: str | None = None

    def _read(self, value: Any, path: str) -> dict[str, Any]:
        label = self.label(path)
        if not isinstance(value, dict):
            raise ValidationError(messages.NOT_OBJECT.format(label), path)
        if len(value) > self.max_keys:
            raise ValidationError(messages.TOO_MANY_KEYS.format(label, self.max_keys), path)
        for key in value:
            if not 1 <= len(key) <= self.key_length or not clean_text(key, display=True):
                raise ValidationError(messages.BAD_KEY.format(label, self.key_length), child(path, key))
        return {key: self.values.read(item, child(path, key)) for key, item in value.items()}

    def shape(self, value: Any) -> Any:
        return {k: self.values.shape(v) for k, v in value.items()} if isinstance(value, dict) else value

    def named(self) -> list[Obj]:
        return self.values.named()

    def _json(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": self.values.json_schema(), "maxProperties": self.max_keys,
                "propertyNames": {"minLength": 1, "maxLength": self.key_length}}


@dataclass
class Prop:
    """A property of an object: its declaration and whether it must be sent."""

    schema: Schema
    required: bool = False


def req(schema: Schema) -> Prop:
    """A required property."""
    return Prop(schema, True)


def opt(schema: Schema) -> Prop:
    """An optional property."""
    return Prop(schema, False)


@dataclass
class Obj(Schema):
    """A JSON object of declared properties; unknown keys are refused. `name` makes it an OpenAPI
    component. `read` returns only the properties sent (so a PATCH knows what changed)."""

    props: dict[str, Prop]
    name: str | None = None
    nullable: bool = False
    title: str | None = None
    description: str | None = None
    open: bool = False

    def _read(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValidationError(messages.NOT_OBJECT.format(self.label(path)), path)
        if not self.open:
            for key in value:
                if key not in self.props:
                    raise ValidationError(messages.UNKNOWN_FIELD.format(child(path, key)), child(path, key))
        for key, prop in self.props.items():
            if prop.required and key not in value:
                raise ValidationError(messages.REQUIRED.format(prop.schema.label(child(path, key))), child(path, key))
        return {key: prop.schema.read(value[key], child(path, key)) for key, prop in self.props.items()
                if key in value}

    def shape(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        shaped = {key: prop.schema.shape(value[key]) for key, prop in self.props.items() if key in value}
        return {**shaped, **{k: v for k, v in value.items() if k not in shaped}} if self.open else shaped

    def extend(self, name: str, props: dict[str, Prop], description: str | None = None) -> Obj:
        """A new named object with this one's properties and more."""
        return Obj({**self.props, **props}, name=name, description=description or self.description)

    def named(self) -> list[Obj]:
        found = [self] if self.name else []
        for prop in self.props.values():
            found.extend(prop.schema.named())
        return found

    def json_schema(self) -> dict[str, Any]:
        if self.name:
            ref = {"$ref": REF_ROOT + self.name}
            return or_null(ref) if self.nullable else ref
        return super().json_schema()

    def definition(self) -> dict[str, Any]:
        """The object's own JSON Schema (what a `$ref` to it points at)."""
        doc: dict[str, Any] = {
            "type": "object",
            "properties": {key: prop.schema.json_schema() for key, prop in self.props.items()},
            "additionalProperties": self.open,
        }
        required = [key for key, prop in self.props.items() if prop.required]
        if required:
            doc["required"] = required
        if self.description:
            doc["description"] = self.description
        return doc

    def _json(self) -> dict[str, Any]:
        return self.definition()


@dataclass
class OneOf(Schema):
    """One of several objects told apart by the string property `tag` (e.g. a validity's `type`)."""

    tag: str
    variants: dict[str, Obj]
    nullable: bool = False
    title: str | None = None
    description: str | None = None

    def _read(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValidationError(messages.NOT_OBJECT.format(self.label(path)), path)
        tag = value.get(self.tag)
        variant = self.variants.get(tag) if isinstance(tag, str) else None
        if variant is None:
            where = child(path, self.tag)
            raise ValidationError(messages.NOT_ONE_OF.format(where, "、".join(self.variants)), where)
        read: dict[str, Any] = variant.read(value, path)
        return read

    def shape(self, value: Any) -> Any:
        tag = value.get(self.tag) if isinstance(value, dict) else None
        variant = self.variants.get(tag) if isinstance(tag, str) else None
        return variant.shape(value) if variant else value

    def named(self) -> list[Obj]:
        return [obj for variant in self.variants.values() for obj in variant.named()]

    def _json(self) -> dict[str, Any]:
        return {"oneOf": [variant.json_schema() for variant in self.variants.values()]}

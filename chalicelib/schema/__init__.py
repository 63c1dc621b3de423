"""Declarations of the contract's JSON: each one reads (validates and normalises) input, shapes
output and describes itself as JSON Schema, so the routes, the domain documents and the OpenAPI
document share one source.

`read` raises ValidationError with the JSON path of the offending input as its `field` and a
Chinese sentence from `chalicelib.messages` as its message. `shape` keeps the declared properties
of an answer, in declared order. `json_schema` is the declaration as JSON Schema 2020-12 (what
OpenAPI 3.1 uses); a named object becomes a `$ref` to `#/components/schemas/<name>`.
"""
from chalicelib.schema.base import Schema, child
from chalicelib.schema.containers import Arr, Map, Obj, OneOf, Prop, opt, req
from chalicelib.schema.parsing import parse_json
from chalicelib.schema.scalars import Bool, Day, Enum, Instant, Int, Scalar, Str, clean_text

__all__ = ["Arr", "Bool", "Day", "Enum", "Instant", "Int", "Map", "Obj", "OneOf", "Prop", "Scalar", "Schema", "Str",
           "child", "clean_text", "opt", "parse_json", "req"]

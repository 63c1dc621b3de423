"""The declarations: each reads strictly and names the JSON path of the first defect in Chinese,
shapes answers to what is declared, and describes itself as JSON Schema."""
from __future__ import annotations

from datetime import date
from typing import Any

import jsonschema
import pytest

from chalicelib.api.http import parse_json, read_query
from chalicelib.errors import ValidationError
from chalicelib.schema import Arr, Bool, Day, Enum, Instant, Int, Map, Obj, OneOf, Scalar, Str, clean_text, opt, req

ITEM = Obj({"sku": req(Str(8)), "qty": req(Int(1, 9))}, name="Item")
BODY = Obj({
    "name": req(Str(10, display=True, title="昵称")),
    "note": opt(Str(20, min_length=0, multiline=True, nullable=True)),
    "items": opt(Arr(ITEM, 3)),
    "on": opt(Bool()),
    "kind": opt(Enum(["a", "b"])),
    "day": opt(Day()),
    "at": opt(Instant()),
    "prefs": opt(Map(Scalar(5), 3)),
    "when": opt(OneOf("type", {"days": Obj({"type": req(Enum(["days"])), "n": req(Int(1, 5))})})),
})


def _refusal(value: Any) -> tuple[str, str]:
    with pytest.raises(ValidationError) as raised:
        BODY.read(value, "")
    return raised.value.field, raised.value.message


@pytest.mark.parametrize(("value", "field"), [
    ([], ""),
    ({}, "name"),
    ({"name": "x", "extra": 1}, "extra"),
    ({"name": 5}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 11}, "name"),
    ({"name": "a\u202eb"}, "name"),
    ({"name": "a\u200bb"}, "name"),
    ({"name": "a\x00b"}, "name"),
    ({"name": "x\ud800y"}, "name"),
    ({"name": "x", "note": "a\x07"}, "note"),
    ({"name": "x", "items": [{"sku": "s", "qty": 1}, {"sku": "s", "qty": 1.0}]}, "items[1].qty"),
    ({"name": "x", "items": [{"sku": "s", "qty": True}]}, "items[0].qty"),
    ({"name": "x", "items": [{"sku": "s"}]}, "items[0].qty"),
    ({"name": "x", "items": [1, 2, 3, 4]}, "items"),
    ({"name": "x", "on": 1}, "on"),
    ({"name": "x", "kind": "c"}, "kind"),
    ({"name": "x", "day": "2026-02-30"}, "day"),
    ({"name": "x", "day": "0001-01-01"}, "day"),
    ({"name": "x", "at": "0001-01-01T00:00:00+08:00"}, "at"),
    ({"name": "x", "at": "9999-12-31T23:59:59-12:00"}, "at"),
    ({"name": "x", "at": "2026-11-22T09:30:00"}, "at"),
    ({"name": "x", "prefs": {"a": [1]}}, "prefs.a"),
    ({"name": "x", "prefs": {"a": 1, "b": 2, "c": 3, "d": 4}}, "prefs"),
    ({"name": "x", "prefs": {"": 1}}, "prefs."),
    ({"name": "x", "when": {"type": "weeks"}}, "when.type"),
    ({"name": "x", "when": {"type": "days", "n": 6}}, "when.n"),
])
def test_each_defect_names_its_path_in_chinese(value: Any, field: str) -> None:
    named, message = _refusal(value)
    assert named == field
    assert any("\u4e00" <= c <= "\u9fff" for c in message), message


def test_a_valid_body_reads_as_sent_with_dates_and_instants_parsed() -> None:
    read = BODY.read({"name": "阿🙂", "note": "line\nbreak", "day": "2026-11-22", "at": "2026-11-22T09:30:00+08:00",
                      "prefs": {"size": "M", "n": 3, "ok": None}, "when": {"type": "days", "n": 2}}, "")
    assert read["day"] == date(2026, 11, 22) and read["at"].hour == 1
    assert read["prefs"] == {"size": "M", "n": 3, "ok": None} and "items" not in read


def test_display_text_keeps_emoji_joined_by_zero_width_joiners() -> None:
    assert clean_text("👨\u200d👩\u200d👧", display=True)
    assert not clean_text("ad\u200dmin", display=True)
    assert clean_text("ad\u200dmin")


def test_answers_are_shaped_to_the_declaration() -> None:
    shape = Obj({"a": req(Int(0, 9)), "inner": req(Obj({"b": req(Int(0, 9))}))})
    assert shape.shape({"a": 1, "secret": 2, "inner": {"b": 3, "c": 4}}) == {"a": 1, "inner": {"b": 3}}


def test_the_json_schema_accepts_what_read_accepts_and_refuses_what_it_refuses() -> None:
    schema = {**BODY.definition(), "$defs": {"Item": ITEM.definition()}}
    text = __import__("json").dumps(schema).replace("#/components/schemas/", "#/$defs/")
    validator = jsonschema.Draft202012Validator(__import__("json").loads(text))
    assert validator.is_valid({"name": "x", "items": [{"sku": "s", "qty": 2}], "kind": "a", "on": True})
    assert not validator.is_valid({"name": "x", "items": [{"sku": "s", "qty": 10}]})
    assert not validator.is_valid({"name": "x", "extra": 1})


@pytest.mark.parametrize("raw", [b"[" * 10_000 + b"]" * 10_000, b'{"a": NaN}', b"\xff", b'{"a":1,"a":2}', b"{"])
def test_malformed_json_is_a_validation_error_of_the_whole_body(raw: bytes) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_json(raw)
    assert raised.value.field in ("", "a")


@pytest.mark.parametrize("text", ["²", "١", "9" * 5000, "-1", "1.0", " 1", ""])
def test_query_integers_are_short_ascii_digits(text: str) -> None:
    with pytest.raises(ValidationError) as raised:
        read_query({"limit": Int(1, 100)}, {"limit": text})
    assert raised.value.field == "limit"


def test_query_reads_declared_parameters_and_ignores_others() -> None:
    assert read_query({"limit": Int(1, 100), "s": Enum(["a"])}, {"limit": "20", "s": "a", "x": "y"}) == \
        {"limit": 20, "s": "a"}

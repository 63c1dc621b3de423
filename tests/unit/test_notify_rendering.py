"""Subscribe-message data within WeChat's per-type limits."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from chalicelib.domain.notices import keyword_type, render, render_value


def test_keywords_are_typed_by_their_prefix() -> None:
    assert keyword_type("thing1") == "thing"
    assert keyword_type("character_string12") == "character_string"
    assert keyword_type("amount3") == "amount"
    for bad in ("thing", "1thing", "colour2", "Thing1"):
        with pytest.raises(ValueError):
            keyword_type(bad)


def test_things_phrases_and_strings_are_cut_to_their_limits() -> None:
    assert render_value("thing", "春季上新" * 10) == "春季上新" * 4 + "春季上…"
    assert len(render_value("thing", "x" * 21)) == 20
    assert render_value("thing", "  会员日\n福利 ") == "会员日 福利"
    assert render_value("thing", "恰好二十个字" * 3 + "满了") == "恰好二十个字" * 3 + "满了"
    assert render_value("phrase", "已到账请查收") == "已到账请查"
    assert render_value("character_string", "A" * 40) == "A" * 32


def test_numbers_keep_digits_only_up_to_32() -> None:
    assert render_value("number", 1200) == "1200"
    assert render_value("number", "积分 300 分") == "300"
    assert render_value("number", "9" * 40) == "9" * 32


def test_amounts_in_fen_read_as_yuan() -> None:
    assert render_value("amount", 1200) == "12.00元"
    assert render_value("amount", 5) == "0.05元"
    assert render_value("amount", -1999) == "-19.99元"
    assert render_value("amount", "12.50元") == "12.50元"


def test_instants_read_in_shanghai_time() -> None:
    instant = datetime(2026, 12, 7, 16, 30, tzinfo=timezone.utc)
    assert render_value("date", instant) == "2026年12月08日 00:30"
    assert render_value("time", instant) == "2026年12月08日 00:30"
    assert render_value("date", date(2026, 12, 8)) == "2026年12月08日"


def test_render_wraps_every_value() -> None:
    assert render({"thing1": "会员日", "amount2": 1000}) == {
        "thing1": {"value": "会员日"}, "amount2": {"value": "10.00元"}}

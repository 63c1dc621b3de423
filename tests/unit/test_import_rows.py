"""The admin CLI's import format (`admin.rows`): a row is a member or a rejection with its reason,
checked against the program in force (default program: lots kept 0 years, tiers at growth 0, 1000,
5000, 10000)."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from admin.rows import BadHeader, Rejected, check_header, normal_phone, read_row
from chalicelib.clock import SHANGHAI
from chalicelib.domain.program import Program, default_program

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)


def row(**cells: str) -> dict[str, str]:
    return {"phone": "13812345678", **cells}


def test_a_full_row_is_a_member_whose_tier_follows_the_growth() -> None:
    checked = read_row(7, row(name=" 王小美 ", birthday="1990-05-01", joined_date="2019-03-02",
                              points="2026:80", growth="2025:1500; 2026:300", tier="silver"), default_program(), NOW)
    assert (checked.number, checked.phone, checked.name, checked.birthday, checked.joined) == (
        7, "13812345678", "王小美", date(1990, 5, 1), date(2019, 3, 2))
    assert checked.points == {2026: 80} and checked.growth == {2025: 1500, 2026: 300} and checked.tier.code == "silver"


def test_empty_cells_are_absent_values_and_the_base_tier() -> None:
    checked = read_row(1, row(), default_program(), NOW)
    assert (checked.name, checked.birthday, checked.joined, checked.points, checked.growth, checked.tier.code) == (
        None, None, None, {}, {}, "normal")


@pytest.mark.parametrize("text", ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678",
                                  "8613812345678", "0086-13812345678"])
def test_phones_are_normalised_to_eleven_digits(text: str) -> None:
    assert normal_phone(text) == "13812345678"


@pytest.mark.parametrize("cells, reason", [
    ({"phone": ""}, "bad_phone"),
    ({"phone": "1381234567"}, "bad_phone"),
    ({"phone": "23812345678"}, "bad_phone"),
    ({"phone": "+1 4155550123"}, "bad_phone"),
    ({"name": "a" * 65}, "bad_name"),
    ({"name": "王\u202e小美"}, "bad_name"),
    ({"birthday": "1990-02-30"}, "bad_birthday"),
    ({"birthday": "1990/05/01"}, "bad_birthday"),
    ({"birthday": "2026-06-02"}, "bad_birthday"),
    ({"joined_date": "2027-01-01"}, "bad_joined_date"),
    ({"points": "120"}, "bad_points"),
    ({"points": "2026:1.5"}, "bad_points"),
    ({"points": "2026:10;2026:20"}, "bad_points"),
    ({"points": "2027:10"}, "bad_points"),
    ({"points": "2026:10000001"}, "bad_points"),
    ({"points": "2026:-5"}, "negative_points"),
    ({"points": "2025:10"}, "points_expired"),
    ({"growth": "2026:-1"}, "bad_growth"),
    ({"growth": "abc"}, "bad_growth"),
    ({"tier": "diamond"}, "bad_tier"),
    ({"growth": "2026:6000", "tier": "silver"}, "tier_mismatch"),
    ({"tier": "gold"}, "tier_mismatch"),
])
def test_a_bad_cell_rejects_the_row_with_its_reason(cells: dict[str, str], reason: str) -> None:
    with pytest.raises(Rejected) as refused:
        read_row(1, row(**cells), default_program(), NOW)
    assert refused.value.reason == reason and refused.value.detail


def test_points_of_last_year_are_kept_while_the_program_keeps_them() -> None:
    keeping = default_program().document()
    keeping["points_expiry"] = {"keep_years": 1}
    program = Program.from_document(keeping)
    assert read_row(1, row(points="2025:10;2026:0"), program, NOW).points == {2025: 10}


@pytest.mark.parametrize("names", [None, [], ["name"], ["phone", "phone"], ["phone", "balance"]])
def test_a_header_without_phone_or_with_unknown_or_repeated_columns_is_refused(names: list[str] | None) -> None:
    with pytest.raises(BadHeader):
        check_header(names)


def test_any_order_and_subset_of_the_columns_is_a_header() -> None:
    check_header(["tier", "phone", "points"])

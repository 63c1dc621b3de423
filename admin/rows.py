"""The import file: an old POS/CRM's members as CSV, one member a row, checked row by row against
the program in force (a row that cannot be imported raises `Rejected` with its reason).

Columns (a header row names them, in any order; only `phone` is required, unknown columns are an
error so that a misspelt one is never ignored):

| column        | what                                                                   | example            |
| ------------- | ---------------------------------------------------------------------- | ------------------ |
| `phone`       | mainland mobile number (spaces, `-` and a leading `+86`/`86` dropped)  | `138 1234 5678`    |
| `name`        | the member's name or nickname, up to 64 characters                     | `王小美`           |
| `birthday`    | `YYYY-MM-DD`, not after today                                          | `1990-05-01`       |
| `joined_date` | `YYYY-MM-DD` the member joined the old program (empty: the import day) | `2019-03-02`       |
| `points`      | spendable points by earning year, `YEAR:POINTS` joined by `;`          | `2025:120;2026:80` |
| `growth`      | growth (成长值, whole yuan of net spend) by year, same form            | `2025:1500;2026:300` |
| `tier`        | tier code; empty: the tier the growth reaches; else it must be that one | `silver`          |
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from chalicelib.clock import business_date, render
from chalicelib.domain.points import lot_expires_at
from chalicelib.domain.program import Program, Tier
from chalicelib.domain.tiers import growth_value
from chalicelib.errors import ValidationError
from chalicelib.schema.scalars import Day, Str

COLUMNS = ("phone", "name", "birthday", "joined_date", "points", "growth", "tier")
REQUIRED = ("phone",)
MAX_AMOUNT = 10_000_000  # points of one lot, growth of one year (a manual adjustment's bound too)
MIN_YEAR = 2000
PHONE = re.compile(r"1[3-9][0-9]{9}")
PHONE_NOISE = re.compile(r"[\s-]")
PAIR = re.compile(r"([0-9]{4}):(-?[0-9]+)")
NAME = Str(64, display=True, title="姓名")
BIRTHDAY, JOINED = Day(title="生日"), Day(title="入会日期")

# Why a row is rejected (the `reason` column of the rejects file).
BAD_PHONE, DUPLICATE_PHONE, PHONE_TAKEN = "bad_phone", "duplicate_phone", "phone_taken"
BAD_NAME, BAD_BIRTHDAY, BAD_JOINED_DATE = "bad_name", "bad_birthday", "bad_joined_date"
BAD_POINTS, NEGATIVE_POINTS, POINTS_EXPIRED = "bad_points", "negative_points", "points_expired"
BAD_GROWTH, BAD_TIER, TIER_MISMATCH = "bad_growth", "bad_tier", "tier_mismatch"


class Rejected(Exception):
    """A row that is not imported: a `reason` code and a sentence for the merchant's staff."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class BadHeader(ValueError):
    """The file's header row cannot be read as the import format."""


@dataclass(frozen=True)
class ImportRow:
    """One member to import, as checked: `points` and `growth` by year, `tier` the one reached."""

    number: int
    phone: str
    name: str | None
    birthday: date | None
    joined: date | None
    points: dict[int, int]
    growth: dict[int, int]
    tier: Tier


def check_header(names: Sequence[str] | None) -> None:
    """BadHeader unless the header names known columns, each once, `phone` among them."""
    if not names:
        raise BadHeader("the file is empty: its first row must name the columns")
    unknown = [name for name in names if name not in COLUMNS]
    repeated = sorted({name for name in names if list(names).count(name) > 1})
    missing = [name for name in REQUIRED if name not in names]
    if unknown or repeated or missing:
        problems = [f"unknown column(s) {', '.join(unknown)}" if unknown else "",
                    f"repeated column(s) {', '.join(repeated)}" if repeated else "",
                    f"missing column(s) {', '.join(missing)}" if missing else ""]
        raise BadHeader("; ".join(p for p in problems if p) + f" (columns: {', '.join(COLUMNS)})")


def normal_phone(text: str) -> str:
    """The 11-digit mainland mobile number in `text`; Rejected (`bad_phone`) otherwise."""
    digits = PHONE_NOISE.sub("", text)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
    if not PHONE.fullmatch(digits):
        raise Rejected(BAD_PHONE, f"手机号 {text!r} 不是 11 位中国大陆手机号")
    return digits


def read_row(number: int, raw: dict[str, str], program: Program, now: datetime) -> ImportRow:
    """The row `number` (1 = the first after the header) as a member to import at `now`."""
    cell = {name: (raw.get(name) or "").strip() for name in COLUMNS}
    today = business_date(now)
    phone = normal_phone(cell["phone"])
    name = _checked(BAD_NAME, NAME, cell["name"]) if cell["name"] else None
    birthday = _day(BAD_BIRTHDAY, BIRTHDAY, cell["birthday"], today)
    joined = _day(BAD_JOINED_DATE, JOINED, cell["joined_date"], today)
    points = _by_year(cell["points"], BAD_POINTS, "积分", today.year)
    negative = [year for year, amount in points.items() if amount < 0]
    if negative:
        raise Rejected(NEGATIVE_POINTS, f"{negative[0]} 年的积分为负数")
    for year in sorted(points):
        expired_at = lot_expires_at(year, program.keep_years)
        if points[year] and expired_at <= now:
            raise Rejected(POINTS_EXPIRED, f"{year} 年获得的积分已于 {render(expired_at)} 过期（积分规则：保留 "
                                           f"{program.keep_years} 年）")
    growth = _by_year(cell["growth"], BAD_GROWTH, "成长值", today.year)
    if any(amount < 0 for amount in growth.values()):
        raise Rejected(BAD_GROWTH, "成长值不能为负数")
    return ImportRow(number, phone, name, birthday, joined, {y: n for y, n in points.items() if n}, growth,
                     _tier(cell["tier"], growth, program, today))


def _checked(reason: str, schema: Str, text: str) -> str:
    try:
        value: str = schema.read(text)
    except ValidationError as exc:
        raise Rejected(reason, exc.message) from None
    return value


def _day(reason: str, schema: Day, text: str, today: date) -> date | None:
    """A date column (None when empty): a real date, not after today."""
    if not text:
        return None
    try:
        day: date = schema.read(text)
    except ValidationError as exc:
        raise Rejected(reason, exc.message) from None
    if day > today:
        raise Rejected(reason, f"{schema.title} {text} 晚于今天")
    return day


def _by_year(text: str, reason: str, what: str, this_year: int) -> dict[int, int]:
    """`YEAR:AMOUNT;YEAR:AMOUNT` (blank: none); each year at most once, from MIN_YEAR to this year,
    each amount within MAX_AMOUNT either way (the sign is the caller's to judge)."""
    amounts: dict[int, int] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        pair = PAIR.fullmatch(part.replace(" ", ""))
        if pair is None:
            raise Rejected(reason, f"{what} {part!r} 的格式应为 年份:数量，如 {this_year}:120")
        year, amount = int(pair[1]), int(pair[2])
        if year in amounts:
            raise Rejected(reason, f"{what}的年份 {year} 重复")
        if not MIN_YEAR <= year <= this_year:
            raise Rejected(reason, f"{what}的年份 {year} 应在 {MIN_YEAR} 到 {this_year} 之间")
        if abs(amount) > MAX_AMOUNT:
            raise Rejected(reason, f"{what} {amount} 超出上限 {MAX_AMOUNT}")
        amounts[year] = amount
    return amounts


def _tier(code: str, growth: dict[int, int], program: Program, today: date) -> Tier:
    """The tier the growth reaches today; a tier named in the file must be that one."""
    value = growth_value(growth, today)
    reached = program.tier_for(value)
    if code and program.tier(code) is None:
        raise Rejected(BAD_TIER, f"会员等级 {code} 不存在（可用：{', '.join(t.code for t in program.tiers)}）")
    if code and code != reached.code:
        raise Rejected(TIER_MISMATCH, f"成长值 {value} 对应会员等级 {reached.code}，不是 {code}（等级由成长值决定）")
    return reached

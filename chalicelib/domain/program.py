"""The merchant's program (contract §6) as a typed, frozen value: built only by validation
(`validate_program`), asked questions through its methods, stored and answered as its JSON
document (`Program.document()`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from chalicelib.domain.program_checks import (
    MAX_PCT,
    MAX_POINTS,
    bounded_list,
    id_list,
    items,
    read_code,
    section,
    template_id,
    unique,
)
from chalicelib.domain.validation import (
    NAME_MAX,
    read_int,
    read_str,
    reject_unknown,
    require_object,
)
from chalicelib.errors import ValidationError

DEFAULT_PROGRAM: dict[str, Any] = {
    "points_per_yuan": 1,
    "tiers": [
        {"code": "normal", "name": "普通会员", "min_growth": 0, "points_multiplier_pct": 100},
        {"code": "silver", "name": "银卡会员", "min_growth": 1000, "points_multiplier_pct": 100},
        {"code": "gold", "name": "金卡会员", "min_growth": 5000, "points_multiplier_pct": 200},
        {"code": "black", "name": "黑卡会员", "min_growth": 10000, "points_multiplier_pct": 200},
    ],
    "checkin": {"points": 5, "streak_bonuses": [{"day": 7, "points": 20}]},
    "signup_gift": {"points": 100, "coupon_template_ids": []},
    "referral": {"inviter_points": 200, "invitee_points": 100},
    "birthday": {"multiplier_pct": 200, "coupon_template_id": None},
    "member_days": {"days_of_month": [8, 18, 28], "multiplier_pct": 200, "coupon_template_id": None},
    "points_expiry": {"keep_years": 0},
    "order_points_pending_days": 0,
    "interactions": [
        {"type": "review", "points": 10, "daily_cap": 3},
        {"type": "share", "points": 2, "daily_cap": 5},
    ],
    "notifications": {
        "templates": {"member_day": None, "points_expiring": None, "coupon_expiring": None, "tier_changed": None}
    },
}

NOTIFICATION_KINDS = ("member_day", "points_expiring", "coupon_expiring", "tier_changed")
DOCUMENT_KEYS = tuple(DEFAULT_PROGRAM)


@dataclass(frozen=True)
class Tier:
    """One membership tier (会员等级): reached at `min_growth`, earning at `points_multiplier_pct`."""

    code: str
    name: str
    min_growth: int
    points_multiplier_pct: int


@dataclass(frozen=True)
class StreakBonus:
    """Extra points on the day a check-in streak reaches `day` consecutive dates."""

    day: int
    points: int


@dataclass(frozen=True)
class Makeup:
    """Make-up check-in (补签) of a missed day this month: its points cost and monthly limit."""

    points_cost: int
    monthly_limit: int


@dataclass(frozen=True)
class CheckinRules:
    """Daily check-in: points per date, streak bonuses (sorted by day), make-ups if offered."""

    points: int
    streak_bonuses: tuple[StreakBonus, ...]
    makeup: Makeup | None = None

    def bonus_for(self, streak: int) -> int:
        """The bonus paid on the day the streak reaches `streak` dates (0 if none)."""
        return sum(bonus.points for bonus in self.streak_bonuses if bonus.day == streak)


@dataclass(frozen=True)
class SignupGift:
    """What a new member gets on signup."""

    points: int
    coupon_template_ids: tuple[str, ...]


@dataclass(frozen=True)
class Referral:
    """Points for both sides when an invitee's first order is recorded."""

    inviter_points: int
    invitee_points: int


@dataclass(frozen=True)
class Birthday:
    """Birth-month order multiplier and the birthday coupon (if any)."""

    multiplier_pct: int
    coupon_template_id: str | None


@dataclass(frozen=True)
class MemberDays:
    """Member days (会员日): days of the month (sorted), their order multiplier and coupon."""

    days_of_month: tuple[int, ...]
    multiplier_pct: int
    coupon_template_id: str | None


@dataclass(frozen=True)
class Interaction:
    """Points for one kind of interaction event, at most `daily_cap` times a Shanghai day."""

    type: str
    points: int
    daily_cap: int


@dataclass(frozen=True)
class NoticeTemplates:
    """The subscribe-message template of each notice kind (None: that notice is not sent)."""

    member_day: str | None = None
    points_expiring: str | None = None
    coupon_expiring: str | None = None
    tier_changed: str | None = None


@dataclass(frozen=True)
class Program:
    """The merchant's whole program; `document()` is its contract JSON."""

    points_per_yuan: int
    tiers: tuple[Tier, ...]
    checkin: CheckinRules
    signup_gift: SignupGift
    referral: Referral
    birthday: Birthday
    member_days: MemberDays
    keep_years: int
    order_points_pending_days: int
    interactions: tuple[Interaction, ...]
    notice_templates: NoticeTemplates

    @classmethod
    def from_document(cls, doc: Any) -> Program:
        """A program from its JSON document (as stored or sent); ValidationError names the field."""
        return validate_program(doc)

    @property
    def base_tier(self) -> Tier:
        """The lowest tier, the one every member starts in."""
        return self.tiers[0]

    def tier_for(self, growth: int) -> Tier:
        """The highest tier whose min_growth <= growth."""
        reached = [tier for tier in self.tiers if tier.min_growth <= growth]
        return reached[-1] if reached else self.tiers[0]

    def next_tier(self, growth: int) -> Tier | None:
        """The lowest tier not reached yet, or None at the top."""
        return next((tier for tier in self.tiers if tier.min_growth > growth), None)

    def tier(self, code: str | None) -> Tier | None:
        """The tier of that code, or None if the program has no such tier."""
        return next((tier for tier in self.tiers if tier.code == code), None)

    def tier_name(self, code: str) -> str:
        """The tier's display name; the code itself for a tier the program no longer has."""
        tier = self.tier(code)
        return tier.name if tier else code

    def is_member_day(self, day: date) -> bool:
        """Whether the Shanghai date `day` is a member day."""
        return day.day in self.member_days.days_of_month

    def campaign_pct(self, paid_on: date, birthday: str | None) -> int:
        """The larger of the member-day and birthday-month multipliers that apply on `paid_on`, else 100."""
        applicable = [100]
        if self.is_member_day(paid_on):
            applicable.append(self.member_days.multiplier_pct)
        if birthday and int(birthday[5:7]) == paid_on.month:
            applicable.append(self.birthday.multiplier_pct)
        return max(applicable)

    def order_points(self, amount_fen: int, tier_pct: int, campaign_pct: int) -> int:
        """`amount_fen * points_per_yuan * tier_pct * campaign_pct // 1_000_000`."""
        return amount_fen * self.points_per_yuan * tier_pct * campaign_pct // 1_000_000

    def interaction(self, kind: str) -> Interaction | None:
        """The rule of that interaction type, or None if the program does not reward it."""
        return next((rule for rule in self.interactions if rule.type == kind), None)

    def notice_template(self, kind: str) -> str | None:
        """The template id of a notice kind (`member_day`, `points_expiring`, `coupon_expiring`,
        `tier_changed`), None when that notice is off; ValueError for another kind."""
        if kind not in NOTIFICATION_KINDS:
            raise ValueError(f"unknown notice kind {kind!r}")
        template: str | None = getattr(self.notice_templates, kind)
        return template

    def document(self) -> dict[str, Any]:
        """The normalised JSON document: what is stored and what `GET /v1/admin/program` answers."""
        checkin: dict[str, Any] = {
            "points": self.checkin.points,
            "streak_bonuses": [{"day": b.day, "points": b.points} for b in self.checkin.streak_bonuses],
        }
        if self.checkin.makeup is not None:
            checkin["makeup"] = {"points_cost": self.checkin.makeup.points_cost,
                                 "monthly_limit": self.checkin.makeup.monthly_limit}
        return {
            "points_per_yuan": self.points_per_yuan,
            "tiers": [{"code": t.code, "name": t.name, "min_growth": t.min_growth,
                       "points_multiplier_pct": t.points_multiplier_pct} for t in self.tiers],
            "checkin": checkin,
            "signup_gift": {"points": self.signup_gift.points,
                            "coupon_template_ids": list(self.signup_gift.coupon_template_ids)},
            "referral": {"inviter_points": self.referral.inviter_points,
                         "invitee_points": self.referral.invitee_points},
            "birthday": {"multiplier_pct": self.birthday.multiplier_pct,
                         "coupon_template_id": self.birthday.coupon_template_id},
            "member_days": {"days_of_month": list(self.member_days.days_of_month),
                            "multiplier_pct": self.member_days.multiplier_pct,
                            "coupon_template_id": self.member_days.coupon_template_id},
            "points_expiry": {"keep_years": self.keep_years},
            "order_points_pending_days": self.order_points_pending_days,
            "interactions": [{"type": i.type, "points": i.points, "daily_cap": i.daily_cap}
                             for i in self.interactions],
            "notifications": {"templates": {kind: self.notice_template(kind) for kind in NOTIFICATION_KINDS}},
        }


def validate_program(doc: Any) -> Program:
    """Check a whole program document and build the Program; ValidationError names the field.
    Sections are checked in a fixed order, so a document with several defects always names the same one."""
    doc = require_object(doc, "program")
    reject_unknown(doc, DOCUMENT_KEYS)
    checkin = section(doc, "checkin", ("points", "streak_bonuses", "makeup"))
    bonuses = _streak_bonuses(checkin)
    gift = section(doc, "signup_gift", ("points", "coupon_template_ids"))
    gift_templates = id_list(gift, "coupon_template_ids", max_items=10, prefix="signup_gift.")
    referral = section(doc, "referral", ("inviter_points", "invitee_points"))
    birthday = section(doc, "birthday", ("multiplier_pct", "coupon_template_id"))
    member_days = section(doc, "member_days", ("days_of_month", "multiplier_pct", "coupon_template_id"))
    days = _days_of_month(member_days)
    expiry = section(doc, "points_expiry", ("keep_years",))
    interactions = _interactions(doc)
    templates = section(section(doc, "notifications", ("templates",)), "templates", NOTIFICATION_KINDS,
                        "notifications.")
    return Program(
        points_per_yuan=read_int(doc, "points_per_yuan", minimum=0, maximum=1000),
        tiers=_tiers(doc),
        checkin=CheckinRules(_points(checkin, "points", "checkin."), bonuses, _makeup(checkin)),
        signup_gift=SignupGift(_points(gift, "points", "signup_gift."), gift_templates),
        referral=Referral(_points(referral, "inviter_points", "referral."),
                          _points(referral, "invitee_points", "referral.")),
        birthday=Birthday(_pct(birthday, "multiplier_pct", "birthday."),
                          template_id(birthday, "coupon_template_id", "birthday.")),
        member_days=MemberDays(days, _pct(member_days, "multiplier_pct", "member_days."),
                               template_id(member_days, "coupon_template_id", "member_days.")),
        keep_years=read_int(expiry, "keep_years", minimum=0, maximum=10, prefix="points_expiry."),
        order_points_pending_days=read_int(doc, "order_points_pending_days", minimum=0, maximum=90),
        interactions=interactions,
        notice_templates=NoticeTemplates(**{
            kind: template_id(templates, kind, "notifications.templates.") for kind in NOTIFICATION_KINDS
        }),
    )


def _points(obj: dict[str, Any], field: str, prefix: str) -> int:
    points: int = read_int(obj, field, minimum=0, maximum=MAX_POINTS, prefix=prefix)
    return points


def _pct(obj: dict[str, Any], field: str, prefix: str) -> int:
    pct: int = read_int(obj, field, minimum=100, maximum=MAX_PCT, prefix=prefix)
    return pct


def _tiers(doc: dict[str, Any]) -> tuple[Tier, ...]:
    """`tiers`: 1 to 20, the first at growth 0, min_growth strictly increasing, codes unique."""
    tiers = []
    for p, item in items(doc, "tiers", ("code", "name", "min_growth", "points_multiplier_pct"),
                         min_items=1, max_items=20):
        tiers.append(Tier(
            code=read_code(item, "code", p),
            name=read_str(item, "name", max_length=NAME_MAX, prefix=p),
            min_growth=read_int(item, "min_growth", minimum=0, maximum=10**9, prefix=p),
            points_multiplier_pct=_pct(item, "points_multiplier_pct", p),
        ))
    if tiers[0].min_growth != 0:
        raise ValidationError("tiers[0].min_growth must be 0")
    for i in range(1, len(tiers)):
        if tiers[i].min_growth <= tiers[i - 1].min_growth:
            raise ValidationError(f"tiers[{i}].min_growth must be greater than the tier before")
    unique([t.code for t in tiers], "tiers codes must be unique")
    return tuple(tiers)


def _streak_bonuses(checkin: dict[str, Any]) -> tuple[StreakBonus, ...]:
    """`checkin.streak_bonuses`: up to 31, days unique, returned sorted by day."""
    bonuses = [StreakBonus(day=read_int(item, "day", minimum=1, maximum=366, prefix=p),
                           points=_points(item, "points", p))
               for p, item in items(checkin, "streak_bonuses", ("day", "points"), max_items=31,
                                    prefix="checkin.")]
    unique([b.day for b in bonuses], "checkin.streak_bonuses days must be unique")
    return tuple(sorted(bonuses, key=lambda b: b.day))


def _makeup(checkin: dict[str, Any]) -> Makeup | None:
    """The optional make-up check-in rules (补签): `{"points_cost", "monthly_limit"}`; absent or null: none."""
    if checkin.get("makeup") is None:
        return None
    rules = section(checkin, "makeup", ("points_cost", "monthly_limit"), "checkin.")
    p = "checkin.makeup."
    return Makeup(points_cost=_points(rules, "points_cost", p),
                  monthly_limit=read_int(rules, "monthly_limit", minimum=1, maximum=31, prefix=p))


def _days_of_month(member_days: dict[str, Any]) -> tuple[int, ...]:
    """`member_days.days_of_month`: up to 31 distinct days 1..31, returned sorted."""
    days = bounded_list(member_days, "days_of_month", max_items=31, prefix="member_days.")
    for i, day in enumerate(days):
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 31:
            raise ValidationError(f"member_days.days_of_month[{i}] must be an integer from 1 to 31")
    unique(days, "member_days.days_of_month must not repeat a day")
    return tuple(sorted(days))


def _interactions(doc: dict[str, Any]) -> tuple[Interaction, ...]:
    """`interactions`: up to 50 rules, types unique."""
    rules = [Interaction(type=read_code(item, "type", p), points=_points(item, "points", p),
                         daily_cap=read_int(item, "daily_cap", minimum=0, maximum=1000, prefix=p))
             for p, item in items(doc, "interactions", ("type", "points", "daily_cap"), max_items=50)]
    unique([rule.type for rule in rules], "interactions types must be unique")
    return tuple(rules)


_DEFAULT = validate_program(DEFAULT_PROGRAM)


def default_program() -> Program:
    """The seeded default program (frozen, so one shared instance)."""
    return _DEFAULT

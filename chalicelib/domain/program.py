"""The merchant's program (contract §6) as a typed, frozen value: built only by validation
(`validate_program`), asked questions through its methods, stored and answered as its JSON
document (`Program.document()`)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from chalicelib.domain.program_schema import DEFAULT_PROGRAM, NOTIFICATION_KINDS, read_program
from chalicelib.errors import ValidationError


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
class Notifications:
    """The subscribe-message budget: at most `weekly_cap` job and automation sends a member in any 7
    Shanghai days, and the December days on which points-expiring reminders go out."""

    weekly_cap: int
    points_expiring_days: tuple[int, ...]


@dataclass(frozen=True)
class RfmRules:
    """The RFM thresholds (§7): the order window, and when R, F and M count as high."""

    window_days: int
    recent_days: int
    frequent_orders: int
    high_spend_fen: int


@dataclass(frozen=True)
class PointsRedemption:
    """Points as cash at checkout (积分抵现): `points_per_yuan` points take 1 yuan off, up to
    `max_pct_of_amount` percent of the amount."""

    enabled: bool
    points_per_yuan: int
    max_pct_of_amount: int


@dataclass(frozen=True)
class Automation:
    """A lifecycle automation (§8): who enters (`trigger` and its `days`/`months`), what a treated
    member gets, the share held out as control, and how long a conversion counts."""

    id: str
    name: str
    active: bool
    trigger: str
    period: int
    coupon_template_id: str | None
    points: int
    notice_template_id: str | None
    holdout_pct: int
    attribution_days: int


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
    notifications: Notifications
    rfm: RfmRules
    automations: tuple[Automation, ...]
    points_redemption: PointsRedemption

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
            "notifications": {"templates": {kind: self.notice_template(kind) for kind in NOTIFICATION_KINDS},
                              "weekly_cap": self.notifications.weekly_cap,
                              "points_expiring_days": list(self.notifications.points_expiring_days)},
            "rfm": asdict(self.rfm),
            "automations": [_automation_document(rule) for rule in self.automations],
            "points_redemption": asdict(self.points_redemption),
        }


def _automation_document(rule: Automation) -> dict[str, Any]:
    key = "months" if rule.trigger == "purchase_streak" else "days"
    return {"id": rule.id, "name": rule.name, "active": rule.active,
            "trigger": {"type": rule.trigger, key: rule.period},
            "coupon_template_id": rule.coupon_template_id, "points": rule.points,
            "notice_template_id": rule.notice_template_id, "holdout_pct": rule.holdout_pct,
            "attribution_days": rule.attribution_days}


def validate_program(doc: Any) -> Program:
    """Check a whole program document and build the Program; ValidationError names the field.
    The declaration (`program_schema.PROGRAM`) checks each value in document order; the rules
    that span several values follow."""
    v = read_program(doc)
    checkin, member_days, notifications = v["checkin"], v["member_days"], v["notifications"]
    makeup = checkin.get("makeup")
    return Program(
        points_per_yuan=v["points_per_yuan"],
        tiers=_tiers(v["tiers"]),
        checkin=CheckinRules(checkin["points"], _streak_bonuses(checkin["streak_bonuses"]),
                             Makeup(**makeup) if makeup else None),
        signup_gift=SignupGift(v["signup_gift"]["points"], tuple(v["signup_gift"]["coupon_template_ids"])),
        referral=Referral(**v["referral"]),
        birthday=Birthday(**v["birthday"]),
        member_days=MemberDays(_distinct_days(member_days["days_of_month"], "member_days.days_of_month"),
                               member_days["multiplier_pct"], member_days["coupon_template_id"]),
        keep_years=v["points_expiry"]["keep_years"],
        order_points_pending_days=v["order_points_pending_days"],
        interactions=_interactions(v["interactions"]),
        notice_templates=NoticeTemplates(**notifications["templates"]),
        notifications=Notifications(notifications["weekly_cap"], _distinct_days(
            notifications["points_expiring_days"], "notifications.points_expiring_days")),
        rfm=_rfm(v["rfm"]),
        automations=_automations(v["automations"]),
        points_redemption=PointsRedemption(**v["points_redemption"]),
    )


def _unique(values: list[Any], field: str, what: str) -> None:
    """Refuse a repeated value, naming the first repeat (`tiers[2].code`)."""
    for i, value in enumerate(values):
        if value in values[:i]:
            raise ValidationError(f"{what}不能重复", field.format(i))


def _tiers(docs: list[dict[str, Any]]) -> tuple[Tier, ...]:
    """`tiers`: the first at growth 0, min_growth strictly increasing, codes unique."""
    tiers = [Tier(**doc) for doc in docs]
    if tiers[0].min_growth != 0:
        raise ValidationError("第一个等级的 min_growth 必须为 0", "tiers[0].min_growth")
    for i in range(1, len(tiers)):
        if tiers[i].min_growth <= tiers[i - 1].min_growth:
            raise ValidationError("等级的 min_growth 必须逐级递增", f"tiers[{i}].min_growth")
    _unique([t.code for t in tiers], "tiers[{}].code", "等级代码")
    return tuple(tiers)


def _streak_bonuses(docs: list[dict[str, Any]]) -> tuple[StreakBonus, ...]:
    """`checkin.streak_bonuses`: days unique, returned sorted by day."""
    bonuses = [StreakBonus(**doc) for doc in docs]
    _unique([b.day for b in bonuses], "checkin.streak_bonuses[{}].day", "连续签到天数")
    return tuple(sorted(bonuses, key=lambda b: b.day))


def _distinct_days(days: list[int], field: str) -> tuple[int, ...]:
    """Days of the month, each at most once, returned sorted."""
    _unique(days, field + "[{}]", "日期")
    return tuple(sorted(days))


def _interactions(docs: list[dict[str, Any]]) -> tuple[Interaction, ...]:
    """`interactions`: types unique."""
    rules = [Interaction(**doc) for doc in docs]
    _unique([rule.type for rule in rules], "interactions[{}].type", "互动类型")
    return tuple(rules)


def _rfm(doc: dict[str, Any]) -> RfmRules:
    """`rfm`: recent_days within the window."""
    if doc["recent_days"] > doc["window_days"]:
        raise ValidationError("recent_days 不能大于 window_days", "rfm.recent_days")
    return RfmRules(**doc)


def _automations(docs: list[dict[str, Any]]) -> tuple[Automation, ...]:
    """`automations`: ids unique, each giving a coupon, points or a notice."""
    _unique([doc["id"] for doc in docs], "automations[{}].id", "自动化 id")
    rules = []
    for i, doc in enumerate(docs):
        if doc["coupon_template_id"] is None and doc["points"] == 0 and doc["notice_template_id"] is None:
            raise ValidationError("自动化至少要发券、送积分或发通知之一", f"automations[{i}].points")
        trigger = doc["trigger"]
        period = trigger["months"] if trigger["type"] == "purchase_streak" else trigger["days"]
        rules.append(Automation(doc["id"], doc["name"], doc["active"], trigger["type"], period,
                                doc["coupon_template_id"], doc["points"], doc["notice_template_id"],
                                doc["holdout_pct"], doc["attribution_days"]))
    return tuple(rules)


_DEFAULT = validate_program(DEFAULT_PROGRAM)


def default_program() -> Program:
    """The seeded default program (frozen, so one shared instance)."""
    return _DEFAULT

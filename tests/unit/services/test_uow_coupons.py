"""Coupons against the in-memory unit of work: templates, the coupon center, claims (limit, stock,
tier, idempotency, atomic refusals, races), the wallet and checkout picker, and the targeted issue
in batches with skips."""
from __future__ import annotations

import pytest
from builders import RacingUnitOfWork, Shop, at, new_id, round_trips, set_now, snapshot

from chalicelib.domain.tokens import Principal
from chalicelib.errors import (
    Forbidden,
    IdempotencyKeyReused,
    LimitReached,
    NotAMember,
    NotFound,
    OutOfStock,
    StoreUnavailable,
    ValidationError,
)
from chalicelib.services import coupons, rewards

GOLD_ONLY = {"tiers": ["gold", "black"]}

# ---- templates -----------------------------------------------------------------------------------


def test_templates_are_created_listed_and_patched(shop: Shop, uow) -> None:
    created = shop.template(total_stock=5, per_member_limit=1)
    assert (created["stock_left"], created["active"], created["kind"]) == (5, True, "amount_off")
    patched = coupons.patch_template(uow, created["template_id"], {"name": "满100减30", "amount_off_fen": 3000})
    assert (patched["name"], patched["amount_off_fen"], patched["total_stock"]) == ("满100减30", 3000, 5)
    assert [t["name"] for t in coupons.list_templates(uow)["items"]] == ["满100减30"]
    with pytest.raises(NotFound):
        coupons.patch_template(uow, "t-none", {"name": "x"})


def test_stock_cannot_be_patched_below_what_was_issued(shop: Shop, uow) -> None:
    template_id = shop.template(total_stock=5)["template_id"]
    shop.coupon(shop.member(), template_id)
    shop.coupon(shop.member(), template_id)
    with pytest.raises(ValidationError):
        coupons.patch_template(uow, template_id, {"total_stock": 1})
    assert coupons.patch_template(uow, template_id, {"total_stock": 2})["stock_left"] == 0


def test_the_merchant_pages_through_templates_and_reads_one(shop: Shop, uow) -> None:
    created = {shop.template(name=f"券{i}")["template_id"] for i in range(5)}
    seen: list[str] = []
    cursor = None
    for size in (2, 2, 1):
        page, trips = round_trips(uow, lambda: coupons.list_templates(uow, limit=2, cursor=cursor))
        assert (len(page["items"]), trips) == (size, 1)
        seen += [t["template_id"] for t in page["items"]]
        cursor = page["next_cursor"]
    assert (cursor, set(seen), len(seen)) == (None, created, 5)
    assert coupons.list_templates(uow, limit=5)["next_cursor"] is None
    one = sorted(created)[0]
    assert coupons.get_template(uow, one) == coupons.list_templates(uow, limit=1)["items"][0]
    with pytest.raises(NotFound):
        coupons.get_template(uow, "t-none")
    shop.reward(), shop.reward()
    with pytest.raises(ValidationError):  # the cursor of another catalog
        coupons.list_templates(uow, limit=1, cursor=rewards.list_for_admin(uow, limit=1)["next_cursor"])


# ---- the coupon center and claims ----------------------------------------------------------------

def test_the_coupon_center_shows_what_each_tier_may_claim(shop: Shop, uow) -> None:
    open_to_all = shop.template(name="人人有份")["template_id"]
    gold = shop.template(name="金卡专享", **GOLD_ONLY)["template_id"]
    shop.template(name="不在领券中心", claimable=False)
    shop.template(name="已下架", active=False)
    shop.template(name="已领完", total_stock=0)
    normal, rich = shop.member(), shop.member()
    shop.order(rich.member_id, 600_000)
    offered = {who: {t["template_id"] for t in coupons.coupon_center(uow, who)["items"]}
               for who in (None, normal, rich)}
    assert offered == {None: {open_to_all}, normal: {open_to_all}, rich: {open_to_all, gold}}


def test_a_claim_is_one_read_and_one_write(shop: Shop, uow) -> None:
    who = shop.member()
    template_id = shop.template(total_stock=3)["template_id"]
    (status, coupon), trips = round_trips(uow, lambda: shop.claim(who, template_id))
    assert (status, trips) == (201, 2)
    assert (coupon["status"], coupon["source"], coupon["template_id"]) == ("unused", "claim", template_id)
    assert (coupon["valid_from"], coupon["valid_until"]) == ("2026-03-10T10:00:00+08:00", "2026-04-09T10:00:00+08:00")
    assert coupons.list_templates(uow)["items"][0]["stock_left"] == 2


def test_a_claim_replayed_answers_the_same_and_changes_nothing(shop: Shop, uow) -> None:
    who = shop.member()
    first_template, other_template = shop.template()["template_id"], shop.template()["template_id"]
    first = shop.claim(who, first_template, request_id="claim-1")
    before = snapshot(uow)
    assert shop.claim(who, first_template, request_id="claim-1") == first
    with pytest.raises(IdempotencyKeyReused):
        shop.claim(who, other_template, request_id="claim-1")
    assert snapshot(uow) == before
    assert shop.claim(shop.member(), first_template, request_id="claim-1")[0] == 201  # keys are per member


def test_a_visitor_cannot_claim(shop: Shop, uow) -> None:
    template_id = shop.template()["template_id"]
    before = snapshot(uow)
    with pytest.raises(NotAMember):
        shop.claim(Principal("o-visitor", None), template_id)
    assert snapshot(uow) == before


def _refused_claim(shop: Shop, case: str) -> tuple[Principal, str]:
    who = shop.member()
    if case == "limit":
        template_id = shop.template(per_member_limit=1)["template_id"]
        shop.claim(who, template_id)
    elif case == "stock":
        template_id = shop.template(total_stock=1)["template_id"]
        shop.claim(shop.member(), template_id)
    elif case == "tier":
        template_id = shop.template(**GOLD_ONLY)["template_id"]
    else:
        template_id = {"inactive": shop.template(active=False)["template_id"],
                       "not claimable": shop.template(claimable=False)["template_id"], "unknown": "t-none"}[case]
    return who, template_id


@pytest.mark.parametrize("case, error", [
    ("limit", LimitReached), ("stock", OutOfStock), ("tier", Forbidden),
    ("inactive", NotFound), ("not claimable", NotFound), ("unknown", NotFound),
])
def test_a_refused_claim_writes_nothing(shop: Shop, uow, case: str, error: type[Exception]) -> None:
    who, template_id = _refused_claim(shop, case)
    before = snapshot(uow)
    with pytest.raises(error):
        shop.claim(who, template_id)
    assert snapshot(uow) == before


def test_two_members_racing_for_the_last_coupon_one_gets_it(wechat) -> None:
    racing = RacingUnitOfWork()
    shop = Shop(racing, wechat)
    template_id = shop.template(total_stock=1)["template_id"]
    first, second = shop.member(), shop.member()
    racing.before_next_write(lambda: shop.claim(first, template_id))
    with pytest.raises(OutOfStock):
        shop.claim(second, template_id)
    assert len(shop.wallet(first)) == 1 and shop.wallet(second) == []


def test_one_member_claiming_twice_at_once_is_held_to_the_limit(wechat) -> None:
    racing = RacingUnitOfWork()
    shop = Shop(racing, wechat)
    template_id = shop.template(per_member_limit=1)["template_id"]
    who = shop.member()
    racing.before_next_write(lambda: shop.claim(who, template_id))
    with pytest.raises(LimitReached):
        shop.claim(who, template_id)
    assert len(shop.wallet(who)) == 1


# ---- the wallet and the checkout picker ----------------------------------------------------------

def test_a_coupon_reads_expired_the_instant_its_validity_ends(shop: Shop, uow) -> None:
    who = shop.member()
    fixed = shop.template(validity={"type": "fixed", "start": "2026-03-01", "end": "2026-03-31"})["template_id"]
    coupon_id = shop.coupon(who, fixed)
    set_now(at(2026, 3, 31, 23, 59, 59))
    assert [c["coupon_id"] for c in shop.wallet(who)] == [coupon_id]
    set_now(at(2026, 4, 1, 0, 0, 0))
    assert (shop.wallet(who), [c["status"] for c in shop.wallet(who, "expired")]) == ([], ["expired"])
    assert coupons.get_coupon(uow, who, coupon_id)["status"] == "expired"


def test_a_fixed_validity_may_run_between_two_instants(shop: Shop) -> None:
    who = shop.member()
    window = {"type": "fixed", "start": "2026-03-10T04:00:00Z", "end": "2026-03-12T18:30:00+08:00"}
    template = shop.template(validity=window)
    assert template["validity"] == {"type": "fixed", "start": "2026-03-10T12:00:00+08:00",
                                    "end": "2026-03-12T18:30:00+08:00"}  # as sent, rendered in Shanghai time
    coupon_id = shop.coupon(who, template["template_id"])
    coupon = shop.wallet(who)[0]
    assert (coupon["coupon_id"], coupon["valid_from"], coupon["valid_until"]) == \
        (coupon_id, "2026-03-10T12:00:00+08:00", "2026-03-12T18:30:00+08:00")
    set_now(at(2026, 3, 12, 18, 30))
    assert shop.wallet(who) == []


@pytest.mark.parametrize("validity, field", [
    ({"type": "fixed", "start": "2026-03-01", "end": "9999-12-31"}, "validity.end"),
    ({"type": "fixed", "start": "0001-01-01", "end": "2026-03-31"}, "validity.start"),
    ({"type": "fixed", "start": "2026-03-01", "end": "9999-12-31T23:59:59-12:00"}, "validity.end"),
    ({"type": "fixed", "start": "0001-01-01T00:00:00+08:00", "end": "2026-03-31"}, "validity.start"),
    ({"type": "fixed", "start": "2026-03-01", "end": "2026-03-31T00:00:00"}, "validity.end"),  # no offset
    ({"type": "fixed", "start": "2026-03-01", "end": "2026-02-30"}, "validity.end"),
    ({"type": "fixed", "start": "2026-03-01", "end": "２０２６-03-31"}, "validity.end"),
    ({"type": "fixed", "start": "2026-03-02", "end": "2026-03-01"}, "validity.end"),
    ({"type": "fixed", "start": "2026-03-02T10:00:00+08:00", "end": "2026-03-02T10:00:00+08:00"}, "validity.end"),
    ({"type": "fixed", "start": 20260301, "end": "2026-03-31"}, "validity.start"),
])
def test_a_fixed_validity_out_of_bounds_or_malformed_is_refused_naming_the_field(shop: Shop, uow, validity,
                                                                                 field: str) -> None:
    before = snapshot(uow)
    with pytest.raises(ValidationError) as refused:
        shop.template(validity=validity)
    assert refused.value.field == field
    assert snapshot(uow) == before


def test_a_template_whose_fixed_validity_ended_is_neither_offered_nor_issued(shop: Shop, uow) -> None:
    window = {"type": "fixed", "start": "2026-03-01", "end": "2026-03-10T09:59:59+08:00"}
    template_id = shop.template(validity=window, total_stock=5)["template_id"]
    who = shop.member()
    assert coupons.coupon_center(uow, who)["items"] == []
    with pytest.raises(NotFound):
        shop.claim(who, template_id)
    assert _issue(shop, template_id, [who.member_id]) == (202, {"issued": 0, "skipped": 1})
    shop.set_program(signup_gift={"points": 0, "coupon_template_ids": [template_id]})
    assert shop.wallet(shop.member()) == []
    reward_id = shop.reward(kind="coupon", coupon_template_id=template_id, points_cost=10)["reward_id"]
    with pytest.raises(NotFound):
        shop.redeem(who, reward_id)
    assert coupons.get_template(uow, template_id)["stock_left"] == 5


def test_a_template_stored_with_an_unbounded_date_still_issues(shop: Shop, uow) -> None:
    from dataclasses import replace

    from chalicelib.domain.coupons import Template
    from chalicelib.store import coupons as coupon_store

    created = shop.template()
    stored = uow.read(t=coupon_store.template(created["template_id"]))["t"]
    legacy: Template = replace(stored, validity={"type": "fixed", "start": "0001-01-01", "end": "9999-12-31"})
    uow.write(coupon_store.edit_template(legacy))  # as accepted before years were bounded
    coupon_id = shop.coupon(shop.member(), created["template_id"])
    assert coupon_id


def test_a_template_or_reward_of_a_tier_the_program_lacks_is_refused(shop: Shop, uow) -> None:
    before = snapshot(uow)
    for create in (shop.template, shop.reward):
        with pytest.raises(ValidationError) as refused:
            create(tiers=["gold", "diamond"])
        assert refused.value.field == "tiers[1]"
    assert snapshot(uow) == before
    template_id = shop.template()["template_id"]
    with pytest.raises(ValidationError) as refused:
        coupons.patch_template(uow, template_id, {"tiers": ["vip"]})
    assert refused.value.field == "tiers[0]"
    assert coupons.patch_template(uow, template_id, {"tiers": ["silver"]})["tiers"] == ["silver"]


def test_another_members_coupon_is_not_found(shop: Shop, uow) -> None:
    owner, other = shop.member(), shop.member()
    coupon_id = shop.coupon(owner)
    assert coupons.get_coupon(uow, owner, coupon_id)["coupon_id"] == coupon_id
    with pytest.raises(NotFound):
        coupons.get_coupon(uow, other, coupon_id)


def test_the_checkout_picker_lists_usable_coupons_best_discount_first(shop: Shop, uow) -> None:
    who = shop.member()
    small = shop.coupon(who, shop.template(amount_off_fen=500, min_spend_fen=0)["template_id"])
    percent = shop.coupon(who, shop.template(kind="percent_off", amount_off_fen=None, percent_off_pct=80,
                                             min_spend_fen=0)["template_id"])
    shop.coupon(who, shop.template(amount_off_fen=5000, min_spend_fen=50_000)["template_id"])  # threshold unmet
    used = shop.coupon(who, shop.template(amount_off_fen=9000, min_spend_fen=0)["template_id"])
    shop.order(who.member_id, 1_000, subtotal_fen=10_000, coupon_id=used)
    picked = coupons.usable(uow, who, 20_000)["items"]
    assert [(c["coupon_id"], c["discount_fen"]) for c in picked] == [(percent, 4_000), (small, 500)]


# ---- the targeted issue --------------------------------------------------------------------------

def _issue(shop: Shop, template_id: str, member_ids: list[str], request_id: str | None = None) -> tuple[int, dict]:
    return coupons.issue_to_members(shop.uow, template_id, member_ids, request_id or new_id("i"), "test-admin")


def test_a_targeted_issue_goes_in_batches_and_counts_the_skipped(shop: Shop, uow) -> None:
    template_id = shop.template(per_member_limit=1, total_stock=20, **GOLD_ONLY)["template_id"]
    members = [shop.member() for _ in range(22)]
    for who in members[:20]:
        shop.order(who.member_id, 500_000)  # gold
    shop.claim(members[0], template_id)  # at the limit already
    ids = [who.member_id for who in members] + ["m-nobody"]  # 2 normal members and one unknown
    (status, answer), trips = round_trips(uow, lambda: _issue(shop, template_id, ids, "issue-1"))
    assert (status, answer) == (202, {"issued": 19, "skipped": 4})
    assert trips == 1 + 3 * 2 + 1  # look-up, three batches of 11 (a read and a write each), the answer
    assert [len(shop.wallet(who)) for who in members] == [1] * 20 + [0, 0]
    assert {c["source"] for who in members[1:20] for c in shop.wallet(who)} == {"admin"}


def test_stock_runs_out_inside_a_batch(shop: Shop) -> None:
    template_id = shop.template(total_stock=2)["template_id"]
    members = [shop.member() for _ in range(4)]
    assert _issue(shop, template_id, [who.member_id for who in members]) == (202, {"issued": 2, "skipped": 2})
    assert [len(shop.wallet(who)) for who in members] == [1, 1, 0, 0]


def test_a_targeted_issue_replays_and_refuses_a_reused_request_id(shop: Shop, uow) -> None:
    template_id = shop.template()["template_id"]
    ids = [shop.member().member_id for _ in range(3)]
    first = _issue(shop, template_id, ids, "issue-2")
    before = snapshot(uow)
    assert _issue(shop, template_id, ids, "issue-2") == first
    with pytest.raises(IdempotencyKeyReused):
        _issue(shop, template_id, ids[:2], "issue-2")
    assert snapshot(uow) == before
    with pytest.raises(NotFound):
        _issue(shop, "t-none", ids)


def test_a_targeted_issue_interrupted_half_way_finishes_on_retry_without_doubles(wechat) -> None:
    racing = RacingUnitOfWork()
    shop = Shop(racing, wechat)
    template_id = shop.template()["template_id"]
    members = [shop.member() for _ in range(15)]
    ids = [who.member_id for who in members]
    racing.before_next_write(lambda: None)  # the first batch goes through
    racing.before_next_write(lambda: racing.fail_next_write(StoreUnavailable()))  # the second does not
    with pytest.raises(StoreUnavailable):
        _issue(shop, template_id, ids, "issue-3")
    assert [len(shop.wallet(who)) for who in members] == [1] * 11 + [0] * 4
    assert _issue(shop, template_id, ids, "issue-3") == (202, {"issued": 15, "skipped": 0})
    assert [len(shop.wallet(who)) for who in members] == [1] * 15

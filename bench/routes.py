"""Round trips per route: every route of the brief on a cold and a warm call of its kind, the most
round trips a warm call may make (`TARGETS`) and why some routes cost what they do (`NOTES`)."""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.stack import Bench, Measurement, RouteResult

# Most DynamoDB round trips a warm call may make; routes without a target are reported only.
TARGETS = {
    "POST /v1/members": 2,
    "POST /v1/members (phone_code)": 2,
    "POST /v1/members (phone_code, new instance)": 2,
    "POST /v1/members (phone_code of an imported member)": 4,
    "GET /v1/members/me": 1,
    "GET /v1/points/ledger": 1,
    "GET /v1/points/ledger (cursor page)": 2,
    "POST /v1/admin/members/{id}/points": 2,
    "POST /v1/admin/orders": 2,
    "POST /v1/admin/orders (invitee's first order)": 3,
    "POST /v1/admin/orders/{order_id}/refunds": 3,
    "POST /v1/admin/members/{id}/events": 2,
    "POST /v1/checkins": 2,
    "POST /v1/coupon-center/{template_id}/claim": 2,
    "POST /v1/rewards/{reward_id}/redeem": 2,
    "POST /v1/admin/orders (with a coupon)": 2,
    "GET /v1/coupons": 2,
    "GET /v1/coupon-center (visitor)": 1,
    "GET /v1/coupon-center (member)": 1,
    "POST /v1/admin/checkouts": 2,
    "POST /v1/admin/checkouts/{checkout_id}/confirm": 2,
    "POST /v1/admin/checkouts/{checkout_id}/cancel": 2,
}
# Why a route costs what it does, printed under the table.
NOTES = {
    "POST /v1/members (phone_code of an imported member)":
        "The signup's transaction (a new member, and a check that no imported member of that phone waits "
        "for a WeChat account) is refused; a TransactGetItems with the imported member, then the "
        "TransactWriteItems that claims it. Every other signup with a phone makes the check in its one "
        "transaction (the bench has imported members, so the two rows above include it).",
    "POST /v1/admin/orders (invitee's first order)":
        "One more TransactGetItems than a plain order: the inviter is read to credit the referral reward.",
    "POST /v1/admin/orders/{order_id}/refunds":
        "The refund names only the order: a TransactGetItems of the order (with the refund's idempotency "
        "record) to learn its member, a TransactGetItems of member + program, then the TransactWriteItems.",
    "POST /v1/admin/orders (replay)":
        "The order's first answer is stored on the order item, so a replay is answered by the first read.",
    "GET /v1/coupon-center (member, tier-restricted templates)":
        "Some template is limited to tiers: the member's tier is read too (member + program), beside the Query.",
    "GET /v1/points/ledger (cursor page)":
        "A page past the first reads the member first (live, and still the token's openid's), then the page: "
        "a closed account's old token cannot page through its ledger.",
    "POST /v1/admin/checkouts/{checkout_id}/confirm":
        "Missed by one: the path names only the checkout, so its member cannot be read with it. A "
        "TransactGetItems of the checkout (with the order's recorded answer: a replay stops there), one of "
        "checkout + member + program + coupon, then the TransactWriteItems.",
    "POST /v1/admin/checkouts/{checkout_id}/cancel":
        "Ends the member's hold without reading the member: the checkout is read, then one "
        "TransactWriteItems moves the hold's end to now (a document-path SET that also bumps the "
        "member's version), releases the coupon and closes the checkout. When the member owes points "
        "or has closed the account (not measured here), that write is refused and two more follow: "
        "checkout + member + program + coupon, then a TransactWriteItems settling the hold by a ledger plan.",
    "GET /v1/coupons":
        "Every page reads the member first, then the page: a closed account's coupons are removed after it "
        "closes, so the page alone cannot prove the account is live.",
}


def measure_routes(bench: Bench) -> dict[str, Any]:
    """Every route's figures alone (`--section routes`), as results.json holds them."""
    run_routes(bench)
    return {route: result.as_json(TARGETS.get(route), NOTES.get(route)) for route, result in bench.results.items()}


def run_routes(bench: Bench) -> None:
    """Measure every route of the brief, each on a cold and a warm call of its kind."""
    visitor, ann_signup = run_signup_routes(bench)
    member, member_id = run_member_routes(bench, visitor)
    for name in ("fay", "gus"):  # invited by Ann
        member_id[name] = bench.signup(visitor[name], nickname=name.title(),
                                       referral_code=ann_signup.body["referral_code"]).body["member_id"]
    run_merchant_routes(bench, member_id)
    run_engagement_routes(bench, member, member_id)
    run_checkout_routes(bench, member_id)


def _get(bench: Bench, path: str, name: str, tokens: dict[str, str]) -> Callable[[], Measurement]:
    return lambda: bench.call("GET", path, 200, token=tokens[name])


def run_signup_routes(bench: Bench) -> tuple[dict[str, str], Measurement]:
    """Measure visitor logins and signups; return the visitors' tokens and Ann's signup."""
    ann, bob = bench.measure("POST /v1/auth/login (visitor)", lambda: bench.login("ann.1"),
                             lambda: bench.login("bob.1"))
    visitor = {"ann": ann.body["token"], "bob": bob.body["token"]}
    for name in ("cat", "dan", "eve", "fay", "gus", "hal", "ivy"):
        visitor[name] = bench.login(f"{name}.1").body["token"]

    _import_members("13800000008", "13800000009")  # hal's and ivy's phones
    ann_signup, _ = bench.measure("POST /v1/members", lambda: bench.signup(visitor["ann"], nickname="Ann"),
                                  lambda: bench.signup(visitor["bob"], nickname="Bob"))
    bench.measure("POST /v1/members (phone_code)",
                  lambda: bench.signup(visitor["cat"], phone_code="phone-13800000001"),
                  lambda: bench.signup(visitor["dan"], phone_code="phone-13800000002"))
    from chalicelib.wiring import wechat

    wechat.cache_clear()  # a new instance: the access token is only in the shared store
    eve = bench.signup(visitor["eve"], phone_code="phone-13800000003")
    bench.results["POST /v1/members (phone_code, new instance)"] = RouteResult(warm=eve, cold=eve)
    bench.measure("POST /v1/members (phone_code of an imported member)",
                  lambda: bench.signup(visitor["hal"], phone_code="phone-13800000008"),
                  lambda: bench.signup(visitor["ivy"], phone_code="phone-13800000009"))
    return visitor, ann_signup


def _import_members(*phones: str) -> None:
    """Members moved in by the admin CLI (no WeChat account yet), 100 points each."""
    from admin.importer import import_file
    from chalicelib import clock
    from chalicelib.wiring import uow

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "members.csv"
        source.write_text("phone,points\n" + "".join(f"{p},{clock.now().year}:100\n" for p in phones))
        assert import_file(uow(), source, Path(folder) / "rejects.csv", clock.now()).imported == len(phones)


def run_member_routes(bench: Bench, visitor: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Measure member logins, reads, point adjustments, the ledger, the profile and the admin reads
    (Ann and Bob); return their member tokens and member ids."""
    ann_login, bob_login = bench.measure("POST /v1/auth/login (member)", lambda: bench.login("ann.2"),
                                         lambda: bench.login("bob.2"))
    member = {"ann": ann_login.body["token"], "bob": bob_login.body["token"]}
    member_id = {"ann": ann_login.body["member"]["member_id"], "bob": bob_login.body["member"]["member_id"]}

    bench.measure("GET /v1/members/me", _get(bench, "/v1/members/me", "ann", member),
                  _get(bench, "/v1/members/me", "bob", member))
    bench.measure("GET /v1/members/me (token minted before signup)",
                  _get(bench, "/v1/members/me", "ann", visitor), _get(bench, "/v1/members/me", "bob", visitor))

    bench.measure("POST /v1/admin/members/{id}/points", lambda: bench.adjust(member_id["ann"], "ann-1"),
                  lambda: bench.adjust(member_id["bob"], "bob-1"))
    bench.measure("POST /v1/admin/members/{id}/points (replay)", lambda: bench.adjust(member_id["ann"], "ann-1"),
                  lambda: bench.adjust(member_id["bob"], "bob-1"))
    for name in ("ann", "bob"):
        for n in range(2, 5):
            bench.adjust(member_id[name], f"{name}-{n}")
    run_ledger_routes(bench, member, visitor)

    bench.measure("PATCH /v1/members/me",
                  lambda: bench.call("PATCH", "/v1/members/me", 200, token=member["ann"], body={"nickname": "Ann B"}),
                  lambda: bench.call("PATCH", "/v1/members/me", 200, token=member["bob"], body={"nickname": "Bob B"}))
    bench.measure("GET /v1/admin/members/{id}",
                  lambda: bench.call("GET", f"/v1/admin/members/{member_id['ann']}", 200, admin=True),
                  lambda: bench.call("GET", f"/v1/admin/members/{member_id['bob']}", 200, admin=True))

    def admin_program() -> Measurement:
        return bench.call("GET", "/v1/admin/program", 200, admin=True)

    bench.measure("GET /v1/admin/program", admin_program, admin_program)
    return member, member_id


def run_ledger_routes(bench: Bench, member: dict[str, str], visitor: dict[str, str]) -> None:
    """Measure the first ledger page, a cursor page and the ledger with a pre-signup token."""
    first = bench.measure("GET /v1/points/ledger", _get(bench, "/v1/points/ledger?limit=2", "ann", member),
                          _get(bench, "/v1/points/ledger?limit=2", "bob", member))
    cursors = {"ann": first[0].body["next_cursor"], "bob": first[1].body["next_cursor"]}
    if not all(cursors.values()):
        raise RuntimeError("the first ledger page has no next_cursor")
    bench.measure("GET /v1/points/ledger (cursor page)",
                  _get(bench, f"/v1/points/ledger?limit=2&cursor={cursors['ann']}", "ann", member),
                  _get(bench, f"/v1/points/ledger?limit=2&cursor={cursors['bob']}", "bob", member))
    bench.measure("GET /v1/points/ledger (token minted before signup)",
                  _get(bench, "/v1/points/ledger?limit=2", "ann", visitor),
                  _get(bench, "/v1/points/ledger?limit=2", "bob", visitor))


def run_merchant_routes(bench: Bench, member_id: dict[str, str]) -> None:
    """Measure orders, refunds and interaction events (Ann and Bob; Fay and Gus were invited by Ann)."""
    def order(name: str) -> Callable[[], Measurement]:
        return lambda: bench.call("POST", "/v1/admin/orders", 201, admin=True, body={
            "order_id": f"order-{name}", "member_id": member_id[name], "amount_fen": 12_800})

    def refund(name: str) -> Callable[[], Measurement]:
        return lambda: bench.call("POST", f"/v1/admin/orders/order-{name}/refunds", 201, admin=True,
                                  body={"refund_id": f"refund-{name}", "amount_fen": 3_200})

    def event(name: str) -> Callable[[], Measurement]:
        return lambda: bench.call("POST", f"/v1/admin/members/{member_id[name]}/events", 201, admin=True,
                                  body={"request_id": f"review-{name}", "type": "review"})

    bench.measure("POST /v1/admin/orders", order("ann"), order("bob"))
    bench.measure("POST /v1/admin/orders (replay)", order("ann"), order("bob"))
    bench.measure("POST /v1/admin/orders (invitee's first order)", order("fay"), order("gus"))
    bench.measure("POST /v1/admin/orders/{order_id}/refunds", refund("ann"), refund("bob"))
    bench.measure("POST /v1/admin/members/{id}/events", event("ann"), event("bob"))


def _member_calls(bench: Bench, token: dict[str, str]) -> Callable[..., Callable[[], Measurement]]:
    """`as_member(method, path, expect, name, body=None)`: a call with the member token of `name`."""
    def as_member(method: str, path: str, expect: int, name: str, body: dict[str, Any] | None = None
                  ) -> Callable[[], Measurement]:
        return lambda: bench.call(method, path, expect, token=token[name], body=body)

    return as_member


def run_engagement_routes(bench: Bench, token: dict[str, str], member_id: dict[str, str]) -> None:
    """Measure check-in, the coupon center and wallet, claims, coupons on orders and the mall."""
    as_member = _member_calls(bench, token)
    bench.measure("GET /v1/coupons (empty wallet)", as_member("GET", "/v1/coupons", 200, "ann"),
                  as_member("GET", "/v1/coupons", 200, "bob"))
    bench.measure("POST /v1/checkins", as_member("POST", "/v1/checkins", 201, "ann", {}),
                  as_member("POST", "/v1/checkins", 201, "bob", {}))
    bench.measure("GET /v1/checkins", as_member("GET", "/v1/checkins", 200, "ann"),
                  as_member("GET", "/v1/checkins", 200, "bob"))
    template = bench.call("POST", "/v1/admin/coupon-templates", 201, admin=True, body={
        "name": "满100减20", "kind": "amount_off", "amount_off_fen": 2000, "min_spend_fen": 10_000,
        "validity": {"type": "relative", "days": 30}, "claimable": True, "total_stock": 1000,
        "per_member_limit": 5}).body["template_id"]
    claim = f"/v1/coupon-center/{template}/claim"
    claims = bench.measure("POST /v1/coupon-center/{template_id}/claim",
                           as_member("POST", claim, 201, "ann", {"request_id": "claim-ann"}),
                           as_member("POST", claim, 201, "bob", {"request_id": "claim-bob"}))
    coupon = {"ann": claims[0].body["coupon_id"], "bob": claims[1].body["coupon_id"]}

    def visitor_center() -> Measurement:
        return bench.call("GET", "/v1/coupon-center", 200)

    bench.measure("GET /v1/coupon-center (visitor)", visitor_center, visitor_center)
    bench.measure("GET /v1/coupon-center (member)", as_member("GET", "/v1/coupon-center", 200, "ann"),
                  as_member("GET", "/v1/coupon-center", 200, "bob"))
    bench.call("POST", "/v1/admin/coupon-templates", 201, admin=True, body={
        "name": "金卡专享", "kind": "gift", "validity": {"type": "relative", "days": 30}, "claimable": True,
        "tiers": ["gold", "black"]})
    bench.measure("GET /v1/coupon-center (member, tier-restricted templates)",
                  as_member("GET", "/v1/coupon-center", 200, "ann"), as_member("GET", "/v1/coupon-center", 200, "bob"))
    bench.measure("GET /v1/coupons", as_member("GET", "/v1/coupons?status=unused", 200, "ann"),
                  as_member("GET", "/v1/coupons?status=unused", 200, "bob"))
    bench.measure("GET /v1/coupons/usable", as_member("GET", "/v1/coupons/usable?subtotal_fen=20000", 200, "ann"),
                  as_member("GET", "/v1/coupons/usable?subtotal_fen=20000", 200, "bob"))
    run_spending_routes(bench, token, member_id, coupon)


def run_spending_routes(bench: Bench, token: dict[str, str], member_id: dict[str, str],
                        coupon: dict[str, str]) -> None:
    """Measure an order paid with a claimed coupon, a reward redemption and the mall."""
    as_member = _member_calls(bench, token)

    def order_with_coupon(name: str) -> Callable[[], Measurement]:
        return lambda: bench.call("POST", "/v1/admin/orders", 201, admin=True, body={
            "order_id": f"coupon-order-{name}", "member_id": member_id[name], "amount_fen": 18_000,
            "subtotal_fen": 20_000, "coupon_id": coupon[name]})

    bench.measure("POST /v1/admin/orders (with a coupon)", order_with_coupon("ann"), order_with_coupon("bob"))
    reward = bench.call("POST", "/v1/admin/rewards", 201, admin=True, body={
        "name": "帆布袋", "points_cost": 50, "kind": "gift", "stock": 100}).body["reward_id"]
    redeem = f"/v1/rewards/{reward}/redeem"
    bench.measure("POST /v1/rewards/{reward_id}/redeem",
                  as_member("POST", redeem, 201, "ann", {"request_id": "redeem-ann"}),
                  as_member("POST", redeem, 201, "bob", {"request_id": "redeem-bob"}))
    bench.measure("GET /v1/rewards", as_member("GET", "/v1/rewards", 200, "ann"),
                  as_member("GET", "/v1/rewards", 200, "bob"))


def run_checkout_routes(bench: Bench, member_id: dict[str, str]) -> None:
    """Measure checkout holds (§9): hold (200 points and no coupon), confirm, cancel, the read."""
    program = bench.call("GET", "/v1/admin/program", 200, admin=True).body
    bench.call("PUT", "/v1/admin/program", 200, admin=True, body={
        **program, "points_redemption": {"enabled": True, "points_per_yuan": 100, "max_pct_of_amount": 50}})

    def hold(name: str, checkout_id: str) -> Callable[[], Measurement]:
        return lambda: bench.call("POST", "/v1/admin/checkouts", 201, admin=True, body={
            "checkout_id": checkout_id, "member_id": member_id[name], "subtotal_fen": 20_000, "points_to_use": 100})

    def confirm(name: str) -> Callable[[], Measurement]:
        return lambda: bench.call("POST", f"/v1/admin/checkouts/pay-{name}/confirm", 201, admin=True,
                                  body={"order_id": f"checkout-order-{name}", "amount_fen": 19_900})

    def cancel(name: str) -> Callable[[], Measurement]:
        return lambda: bench.call("POST", f"/v1/admin/checkouts/drop-{name}/cancel", 200, admin=True, body={})

    def read(name: str) -> Callable[[], Measurement]:
        return lambda: bench.call("GET", f"/v1/admin/checkouts/pay-{name}", 200, admin=True)

    bench.measure("POST /v1/admin/checkouts", hold("ann", "pay-ann"), hold("bob", "pay-bob"))
    bench.measure("GET /v1/admin/checkouts/{checkout_id}", read("ann"), read("bob"))
    bench.measure("POST /v1/admin/checkouts/{checkout_id}/confirm", confirm("ann"), confirm("bob"))
    bench.measure("POST /v1/admin/checkouts/{checkout_id}/confirm (replay)", confirm("ann"), confirm("bob"))
    for name in ("ann", "bob"):
        hold(name, f"drop-{name}")()
    bench.measure("POST /v1/admin/checkouts/{checkout_id}/cancel", cancel("ann"), cancel("bob"))

"""The browser tests' data, made through the API of their own server as a store would make it: eight
members who sign up and buy over four weeks of a test clock, two RFM snapshots a day apart (so the
dashboard has migrations), a `no_first_order` automation with a holdout, a coupon template, a gift
reward with one redemption to ship.

Expected figures the tests read on the pages are the constants below.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import requests

TODAY = "2026-06-15"
PHONES = [f"1380000000{i}" for i in range(1, 9)]
MEMBERS_TOTAL = 8
TIMEOUT_SECONDS = 10
# Members in `general_develop` (one recent order under 1000 元) in the latest snapshot: 刘洋, 陈静, 杨磊.
TARGET_SEGMENT = "general_develop"
TARGET_SEGMENT_MEMBERS = 3
GIFT = "保温杯"
TEMPLATE = "新客满100减10"
AUTOMATION = "首单激励"
# Who signs up on which day before TODAY (day 0 is TODAY), and the orders each member pays: (days before
# TODAY, yuan). The phone is the member's index + 1.
SIGNUPS = {28: [0, 1, 5], 21: [2, 6], 14: [3], 7: [4], 0: [7]}
NICKNAMES = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄丽"]
ORDERS: dict[int, list[tuple[int, int]]] = {
    21: [(0, 450)],
    14: [(0, 450), (2, 1200)],
    7: [(0, 450), (1, 120), (3, 199)],
    1: [],
    0: [(1, 80), (4, 99), (5, 299)],
}


@dataclass
class StoreApi:
    """JSON calls to one live server: as the merchant (admin key) or as a member (token)."""

    base_url: str
    admin_key: str
    member_ids: dict[int, str] = field(default_factory=dict)
    _codes: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             expect: int = 200) -> Any:
        """The JSON answer of a call that must answer `expect`."""
        headers = {"Authorization": f"Bearer {token}"} if token else {"X-Admin-Key": self.admin_key}
        response = requests.request(method, self.base_url + path, json=body, headers=headers, timeout=TIMEOUT_SECONDS)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def at(self, day: str, time: str = "12:00:00") -> None:
        """Set the server's test clock to `time` on the Shanghai date `day`."""
        self.call("PUT", "/v1/admin/clock", {"now": f"{day}T{time}+08:00"})

    def login(self, index: int) -> str:
        """A fresh token of WeChat user `index` (a single-use login code each time)."""
        return str(self.call("POST", "/v1/auth/login", {"code": f"console-{index}.{next(self._codes)}"})["token"])

    def sign_up(self, index: int) -> None:
        """Member `index` logs in with WeChat and signs up with their phone."""
        member = self.call("POST", "/v1/members", {"nickname": NICKNAMES[index], "phone_code": f"phone-{PHONES[index]}"},
                           token=self.login(index), expect=201)
        self.member_ids[index] = member["member_id"]

    def order(self, index: int, yuan: int) -> None:
        """Member `index` pays an order of `yuan` now."""
        self.call("POST", "/v1/admin/orders", {"order_id": f"o-{index}-{next(self._codes)}",
                                               "member_id": self.member_ids[index], "amount_fen": yuan * 100},
                  expect=201)


def _date(days_before: int) -> str:
    """The Shanghai date `days_before` TODAY."""
    return (date.fromisoformat(TODAY) - timedelta(days=days_before)).isoformat()


def make_store(api: StoreApi) -> None:
    """Create the whole data set; leaves the test clock at noon on TODAY."""
    api.at(_date(28), "09:00:00")
    template = api.call("POST", "/v1/admin/coupon-templates", {
        "name": TEMPLATE, "kind": "amount_off", "amount_off_fen": 1000, "min_spend_fen": 10000,
        "validity": {"type": "relative", "days": 30}, "claimable": True}, expect=201)
    program = api.call("GET", "/v1/admin/program")
    program["automations"] = [{
        "id": "first-order", "name": AUTOMATION, "active": True, "trigger": {"type": "no_first_order", "days": 7},
        "coupon_template_id": template["template_id"], "points": 50, "notice_template_id": None, "holdout_pct": 50,
    }]
    api.call("PUT", "/v1/admin/program", program)
    for days_before in sorted({*SIGNUPS, *ORDERS}, reverse=True):
        api.at(_date(days_before))
        for index in SIGNUPS.get(days_before, []):
            api.sign_up(index)
        for index, yuan in ORDERS.get(days_before, []):
            api.order(index, yuan)
        if days_before == 1:
            api.call("POST", "/v1/admin/jobs/automations/run", {})
            api.call("POST", "/v1/admin/jobs/rfm-segments/run", {})
    api.call("POST", "/v1/admin/jobs/rfm-segments/run", {})
    reward = api.call("POST", "/v1/admin/rewards", {"name": GIFT, "points_cost": 50, "kind": "gift"}, expect=201)
    api.call("POST", f"/v1/rewards/{reward['reward_id']}/redeem", {
        "request_id": "gift-1", "address": {"name": "王芳", "phone": PHONES[0], "region": "上海市 徐汇区",
                                            "detail": "漕溪北路 88 号"}}, token=api.login(0), expect=201)

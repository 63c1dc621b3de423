"""Account deletion erases what is personal beyond the member item: the WeChat session_key kept
on the openid's identity, the free-text notes of the (kept, anonymised) ledger, however long
the ledger is, and the shipping addresses of gift redemptions. Checked over HTTP, then in the store itself."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from helpers import Api

from chalicelib.store.ledger import LedgerRecord
from chalicelib.store.members import IdentityRecord
from chalicelib.store.rewards import RedemptionRecord


def adjust(api: Api, member_id: str, count: int) -> None:
    def one(i: int) -> int:
        return api.call("POST", f"/v1/admin/members/{member_id}/points",
                        {"request_id": f"note-{member_id[-8:]}-{i}", "delta": 1, "reason": f"私人备注 {i}：客人电话 138"}, admin=True)[0]
    with ThreadPoolExecutor(2) as pool:  # a long ledger quickly; the races are test_across_instances'
        assert set(pool.map(one, range(count))) == {201}


def deleted_leaves_nothing_personal(api: Api, token: str, member_id: str, openid: str) -> None:
    assert IdentityRecord.get(f"openid#{openid}", consistent_read=True).session_key
    assert api.call("DELETE", "/v1/members/me", token=token) == (204, None)
    identity = IdentityRecord.get(f"openid#{openid}", consistent_read=True)
    assert identity.session_key is None and identity.member_id is None
    entries = list(LedgerRecord.query(member_id, consistent_read=True))
    assert entries and [e.seq for e in entries if e.note is not None] == []
    assert entries[-1].reason == "account_closed" and sum(e.delta for e in entries) == 0


def test_deletion_erases_the_session_key_and_the_ledger_notes(api: Api) -> None:
    token, member = api.new_member()
    openid = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["openid"]
    adjust(api, member["member_id"], 3)
    assert {e["reason"] for e in api.ledger(token)} == {"signup_gift", "admin_adjust"}
    deleted_leaves_nothing_personal(api, token, member["member_id"], openid)


def test_deletion_erases_the_notes_of_a_ledger_longer_than_one_transaction(api: Api) -> None:
    token, member = api.new_member()
    openid = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["openid"]
    adjust(api, member["member_id"], 130)
    deleted_leaves_nothing_personal(api, token, member["member_id"], openid)


def test_deletion_erases_the_shipping_address_of_a_gift(api: Api) -> None:
    token, member = api.new_member()
    gift = api.call("POST", "/v1/admin/rewards", {"name": "帆布袋", "points_cost": 10, "kind": "gift"}, admin=True)[1]
    address = {"name": "张三", "phone": "13812345678", "region": "上海市 徐汇区", "detail": "漕溪北路 1 号"}
    status, redeemed = api.call("POST", f"/v1/rewards/{gift['reward_id']}/redeem",
                                {"request_id": "gift-1", "address": address}, token=token)
    assert status == 201, redeemed
    assert api.call("GET", "/v1/redemptions", token=token)[1]["items"][0]["address"] == address
    assert api.call("DELETE", "/v1/members/me", token=token) == (204, None)
    kept = RedemptionRecord.get(redeemed["redemption_id"], consistent_read=True)
    assert kept.address is None and kept.member_id == member["member_id"] and kept.reward_id == gift["reward_id"]

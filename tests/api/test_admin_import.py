"""The admin CLI's member import (`python -m admin import`, run in-process against the session's
store over the wire), checked through the merchant API and the app's own read paths: members in
every index and figure, rejects with their reasons, a re-run and a run resumed after the store
failed halfway import nobody and no point twice, imported points expire with their earning year.

The tables are shared with every other test, and some tests move the clock and count what a job
reaches: the members imported here join today and hold this year's points only when a test ends,
as members who sign up today do."""
from __future__ import annotations

import csv
import secrets
from pathlib import Path
from typing import Any

import pytest
from faults import CUT, FaultyProxy
from helpers import Api

from admin.__main__ import main
from admin.importer import import_file
from admin.records import exists, import_key
from chalicelib import clock as app_clock
from chalicelib.domain.member import imported_member_id
from chalicelib.errors import StoreUnavailable
from chalicelib.store import ledger, members
from chalicelib.store.base import shard_of
from chalicelib.store.dynamo import DynamoUnitOfWork, make_client
from chalicelib.store.parts import every

HEADER = ("phone", "name", "birthday", "joined_date", "points", "growth", "tier")


def phones(count: int) -> list[str]:
    """Mobile numbers no other test uses."""
    return [f"13{secrets.randbelow(10**9):09d}" for _ in range(count)]


def write(folder: Path, rows: list[tuple[str, ...]], header: tuple[str, ...] = HEADER) -> Path:
    source = folder / f"members-{secrets.token_hex(3)}.csv"
    with source.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([header, *rows])
    return source


def today() -> str:
    """Today's Shanghai date."""
    return app_clock.business_date().isoformat()


def this_year() -> int:
    return app_clock.business_date().year


def summary(api: Api, day: str | None = None) -> dict[str, Any]:
    day = day or today()
    status, body = api.call("GET", f"/v1/admin/analytics/summary?from={day}&to={day}", admin=True)
    assert status == 200, body
    return body


def figures(body: dict[str, Any]) -> dict[str, int]:
    """The figures an import moves, flat."""
    return {"new": body["members"]["new"], "total": body["members"]["total"], **body["points"],
            **{f"tier {t['code']}": t["members"] for t in body["tiers"]}}


def moved(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    old, new = figures(before), figures(after)
    return {name: new[name] - old[name] for name in new if new[name] != old[name]}


def looked_up(api: Api, phone: str) -> dict[str, Any]:
    status, body = api.call("GET", f"/v1/admin/members?phone={phone}", admin=True)
    assert status == 200 and len(body["items"]) == 1, body
    found: dict[str, Any] = body["items"][0]
    return found


def ids(numbers: list[str]) -> list[str]:
    uow = DynamoUnitOfWork()
    key = import_key(uow, app_clock.now())
    return [imported_member_id(key, phone) for phone in numbers]


def test_import_puts_members_in_every_index_and_figure_and_rejects_bad_rows(api: Api, tmp_path: Path) -> None:
    year, day = this_year(), today()
    silver, gold, plain, spare = phones(4)
    source = write(tmp_path, [
        (silver, "王小美", "1990-05-01", day, f"{year}:120", f"{year - 1}:1500;{year}:300", "silver"),
        (gold, "", "", "", f"{year}:80", f"{year}:6000", ""),
        (plain, "李四", "", "", "", "", "normal"),
        ("12345", "", "", "", "", "", ""),
        (silver, "重复", "", "", "", "", ""),
        (spare, "", "1990-02-30", "", "", "", ""),
        (spare, "", "", "", f"{year}:-5", "", ""),
        (spare, "", "", "", f"{year - 1}:10", "", ""),
        (spare, "", "", "", "", "", "gold"),
        (spare, "", "", "", "", "", "diamond"),
    ])
    before = summary(api)
    rejects = tmp_path / "rejects.csv"
    assert main(["--quiet", "import", str(source), "--rejects", str(rejects)]) == 0

    with rejects.open(encoding="utf-8") as file:
        rejected = [(row["row"], row["reason"], row["phone"]) for row in csv.DictReader(file)]
    assert rejected == [("4", "bad_phone", "12345"), ("5", "duplicate_phone", silver),
                        ("6", "bad_birthday", spare), ("7", "negative_points", spare), ("8", "points_expired", spare),
                        ("9", "tier_mismatch", spare), ("10", "bad_tier", spare)]
    assert moved(before, summary(api)) == {"new": 3, "total": 3, "issued": 200, "outstanding": 200,
                                           "tier normal": 1, "tier silver": 1, "tier gold": 1}
    member = looked_up(api, silver)
    assert (member["nickname"], member["birthday"], member["joined_at"], member["tier"]["code"]) == (
        "王小美", "1990-05-01", f"{day}T00:00:00+08:00", "silver")
    assert member["growth"]["value"] == 1800 and member["openid"] is None and len(member["referral_code"]) == 8
    assert member["points"] == {"balance": 120, "pending": 0, "held": 0,
                                "expiring": [{"points": 120, "expires_at": f"{year + 1}-01-01T00:00:00+08:00"}]}
    assert [looked_up(api, phone)["tier"]["code"] for phone in (gold, plain)] == ["gold", "normal"]

    uow = DynamoUnitOfWork()
    silver_id, gold_id, plain_id = ids([silver, gold, plain])
    [entry] = uow.query(ledger.page(silver_id, 10, None)).items
    assert (entry.delta, entry.balance_after, entry.reason, entry.ref) == (120, 120, "import", str(year))
    assert uow.query(ledger.page(plain_id, 10, None)).items == []

    def partition(query: Any, member_id: str) -> set[str]:
        return {m.member_id for m in every(uow, lambda cursor: query(shard_of(member_id), cursor)) if m}

    for member_id in (silver_id, gold_id, plain_id):
        assert member_id in partition(members.active, member_id)
    assert {silver_id, gold_id} <= partition(members.above_base_tier, silver_id) | partition(
        members.above_base_tier, gold_id)
    assert plain_id not in partition(members.above_base_tier, plain_id)
    assert silver_id in partition(lambda shard, cursor: members.with_points_to_expire(shard, year, cursor), silver_id)
    assert silver_id in partition(lambda shard, cursor: members.in_lifecycle(shard, f"j#{day}", f"j#{day}", cursor),
                                  silver_id)


def test_a_rerun_imports_nobody_and_no_point_again(api: Api, tmp_path: Path, capsys) -> None:
    source = write(tmp_path, [(phone, "", "", "", f"{this_year()}:50", "", "") for phone in phones(3)]
                   + [("x", *[""] * 6)])
    assert main(["--quiet", "import", str(source)]) == 0
    before = summary(api)
    capsys.readouterr()
    assert main(["--quiet", "import", str(source)]) == 0
    assert "0 members imported (0 points), 3 imported before, 1 rejected" in capsys.readouterr().out
    assert moved(before, summary(api)) == {}
    assert Path(f"{source}.rejects.csv").read_text(encoding="utf-8").count("bad_phone") == 1


class CutAfter(FaultyProxy):
    """Relays `allowed` requests to the store, then cuts every answer halfway (the request itself
    still reaches the store): a store that fails in the middle of an import, after a write."""

    def __init__(self, upstream: str, allowed: int) -> None:
        super().__init__(upstream)
        self.allowed = allowed

    def _client_chunk(self, client: Any, upstream: Any, data: bytes) -> bool:
        if data.startswith(b"POST "):
            self.allowed -= 1
            if self.allowed < 0:
                self.mode = CUT
        return super()._client_chunk(client, upstream, data)


def test_an_import_cut_short_resumes_without_doubling_a_member_or_a_point(
        api: Api, tmp_path: Path, store_url: str) -> None:
    numbers = phones(48)
    source = write(tmp_path, [(phone, "", "", "", f"{this_year()}:{i + 1}", "", "") for i, phone in enumerate(numbers)])
    member_ids = ids(numbers)  # the import key exists: the cut run reads the program, the key, then a batch
    before = summary(api)
    with CutAfter(store_url, allowed=3 + 5) as proxy, pytest.raises(StoreUnavailable):
        import_file(DynamoUnitOfWork(make_client("us-east-1", proxy.url)), source, tmp_path / "r.csv",
                    app_clock.now())
    uow = DynamoUnitOfWork()
    done_first = sum(uow.read_many([exists(member_id) for member_id in member_ids]))
    assert 0 < done_first < len(numbers)

    assert main(["--quiet", "import", str(source)]) == 0
    assert all(uow.read_many([exists(member_id) for member_id in member_ids]))
    assert moved(before, summary(api)) == {"new": 48, "total": 48, "issued": 48 * 49 // 2,
                                           "outstanding": 48 * 49 // 2, "tier normal": 48}
    for i, member_id in enumerate(member_ids):
        assert [(e.seq, e.delta) for e in uow.query(ledger.page(member_id, 10, None)).items] == [(1, i + 1)]


def test_imported_points_expire_with_their_earning_years_lot(api: Api, clock, program, tmp_path: Path) -> None:
    edited, put = program
    edited["points_expiry"] = {"keep_years": 1}
    put()
    year = this_year()
    year_end = f"{year + 1}-01-01"
    clock(f"{year_end}T08:00:00+08:00")
    at_year_end = summary(api, year_end)
    assert api.call("DELETE", "/v1/admin/clock", admin=True)[0] == 204
    before = summary(api)
    phone = phones(1)[0]
    source = write(tmp_path, [(phone, "", "", "", f"{year - 1}:100;{year}:50", "", "")])
    assert main(["--quiet", "import", str(source)]) == 0
    assert moved(before, summary(api)) == {"new": 1, "total": 1, "issued": 150, "outstanding": 150, "tier normal": 1}
    [member_id] = ids([phone])
    assert [(e.delta, e.ref) for e in DynamoUnitOfWork().query(ledger.page(member_id, 10, None)).items] == [
        (50, str(year)), (100, str(year - 1))]

    clock(f"{year_end}T08:00:00+08:00")
    assert moved(at_year_end, summary(api, year_end)) == {"total": 1, "expired": 100, "outstanding": 50,
                                                          "tier normal": 1}
    assert looked_up(api, phone)["points"]["balance"] == 50
    # The next change writes the expire entry; taking the rest leaves the shared store no expired lot.
    status, body = api.call("POST", f"/v1/admin/members/{member_id}/points",
                            {"request_id": secrets.token_hex(8), "delta": -50, "reason": "测试清理"}, admin=True)
    assert status == 201 and body["balance"] == 0, body
    assert [(e.delta, e.reason) for e in DynamoUnitOfWork().query(ledger.page(member_id, 10, None)).items][:2] == [
        (-50, "admin_adjust"), (-100, "expire")]


def test_check_phones_rejects_a_phone_a_member_already_holds(api: Api, tmp_path: Path) -> None:
    taken, free = phones(2)
    api.new_member(phone_code=f"phone-{taken}")
    rejects = tmp_path / "rejects.csv"
    source = write(tmp_path, [(taken, "", "", "", "", "", ""), (free, "", "", "", "", "", "")])
    assert main(["--quiet", "import", str(source), "--rejects", str(rejects), "--check-phones"]) == 0
    with rejects.open(encoding="utf-8") as file:
        assert [(row["row"], row["reason"]) for row in csv.DictReader(file)] == [("1", "phone_taken")]
    assert looked_up(api, free)["openid"] is None and looked_up(api, taken)["openid"] is not None


def test_signing_up_with_an_imported_phone_takes_over_the_imported_member(api: Api, tmp_path: Path) -> None:
    phone, = phones(1)
    source = write(tmp_path, [(phone, "王小美", "1990-05-01", "", f"{this_year()}:120", "", "")])
    assert main(["--quiet", "import", str(source), "--rejects", str(tmp_path / "r.csv")]) == 0
    imported = looked_up(api, phone)
    before = summary(api)
    token, member = api.new_member(phone_code=f"phone-{phone}", nickname="小美")
    assert member["member_id"] == imported["member_id"] and member["nickname"] == "小美"
    assert member["points"]["balance"] == 120 and member["birthday"] == "1990-05-01"
    assert [(e["reason"], e["delta"]) for e in api.ledger(token)] == [("import", 120)]
    assert moved(before, summary(api)) == {}
    assert looked_up(api, phone)["openid"] is not None
    status, body = api.call("POST", "/v1/members", {"phone_code": f"phone-{phone}-again"}, token=token)
    assert (status, body["error"]["code"]) == (409, "ALREADY_MEMBER")

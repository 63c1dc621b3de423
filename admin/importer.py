"""`python -m admin import FILE`: members from an old POS/CRM's CSV (format: `admin.rows`).

The file is read in chunks of `CHUNK` rows. Each row is checked (`rows.read_row`; a phone seen
earlier in the file is `duplicate_phone`); the chunk's members are looked up by id in one
BatchGetItem (an imported member's id follows from the phone: `domain.member.imported_member_id`), and those
that exist are counted as already imported. The new ones wait in their shard's batch, which is
written as one transaction (`records.arrivals`) when it is full: member items, referral codes,
ledger entries and the shard's figures, all or nothing. If a batch fails because one of its
members exists by now (another run) or a referral code was taken, each member is written alone.

So a re-run, a run resumed after a crash (or Ctrl-C) and two runs at once never double a member
or a point: run the same command again until it reports nothing left to import. Rejected rows go
to the rejects file with their reason (rewritten by every run).
"""
from __future__ import annotations

import csv
import itertools
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from admin import records
from admin.arrival import Arrival, arrival
from admin.output import private_file
from admin.progress import Progress
from admin.rows import DUPLICATE_PHONE, PHONE_TAKEN, ImportRow, Rejected, check_header, read_row
from chalicelib.domain.member import imported_member_id, new_referral_code
from chalicelib.domain.program import Program
from chalicelib.errors import StoreUnavailable
from chalicelib.services.runner import commit
from chalicelib.store import settings
from chalicelib.store.base import shard_of
from chalicelib.store.parts import UnitOfWork

CHUNK = 100  # rows checked and looked up together (one BatchGetItem)
MAX_TRANSACTION = 100  # DynamoDB's most items in one transaction
FIGURE_ITEMS = 4  # a shard's figures besides the lots: the date's, month's and year's counters, the tiers
REFERRAL_DRAWS = 5
BAD_ROW = "bad_row"
PHONE_TAKEN_DETAIL = "已有会员使用此手机号（可能已在小程序注册），请核对后人工处理"


@dataclass
class ImportSummary:
    """What a run did with the rows of its file."""

    rows: int = 0
    imported: int = 0
    already_imported: int = 0
    rejected: int = 0
    points: int = 0


class Importer:
    """One run over one file: checks rows, writes new members by shard, reports rejects."""

    def __init__(self, uow: UnitOfWork, program: Program, key: bytes, now: datetime, rejects: Any, *,
                 check_phones: bool = False) -> None:
        self.uow, self.program, self.key, self.now = uow, program, key, now
        self.rejects, self.check_phones = rejects, check_phones
        self.summary = ImportSummary()
        self.first_row_of: dict[str, int] = {}
        self.batches: dict[str, list[Arrival]] = defaultdict(list)

    def take(self, chunk: list[tuple[int, dict[str | None, Any]]]) -> None:
        """Check a chunk of numbered rows and queue its new members."""
        checked: list[tuple[ImportRow, dict[str | None, Any]]] = []
        for number, raw in chunk:
            self.summary.rows += 1
            try:
                checked.append((self._checked(number, raw), raw))
            except Rejected as refusal:
                self.reject(number, raw, refusal)
        ids = [imported_member_id(self.key, row.phone) for row, _ in checked]
        found = self.uow.read_many([records.exists(member_id) for member_id in ids])
        for (row, raw), member_id, existing in zip(checked, ids, found, strict=True):
            if existing:
                self.summary.already_imported += 1
            elif self.check_phones and self._phone_taken(row.phone):
                self.reject(row.number, raw, Rejected(PHONE_TAKEN, PHONE_TAKEN_DETAIL))
            else:
                self.queue(arrival(row, member_id, new_referral_code(), self.program, self.now))

    def queue(self, newcomer: Arrival) -> None:
        """Add a member to its shard's batch, writing the batch first if the member would not fit."""
        shard = shard_of(newcomer.member.member_id)
        batch = [*self.batches[shard], newcomer]
        years = {year for member in batch for year in member.tally.lots}
        if sum(records.parts_of(member) for member in batch) + FIGURE_ITEMS + len(years) > MAX_TRANSACTION:
            self.flush(shard)
        self.batches[shard].append(newcomer)

    def flush(self, shard: str | None = None) -> None:
        """Write one shard's batch (every shard's when None)."""
        for name in [shard] if shard is not None else list(self.batches):
            batch = self.batches.pop(name, [])
            if not batch:
                continue
            try:
                commit(self.uow, records.arrivals(batch, self.program.base_tier.code))
            except (records.AlreadyImported, records.ReferralClash):
                for newcomer in batch:
                    self._alone(newcomer)
                continue
            self._count(batch)

    def reject(self, number: int, raw: dict[str | None, Any], refusal: Rejected) -> None:
        """Note a rejected row with its reason."""
        self.summary.rejected += 1
        self.rejects.writerow({"row": number, "reason": refusal.reason, "detail": refusal.detail,
                               **{name: value for name, value in raw.items() if name is not None}})

    def _checked(self, number: int, raw: dict[str | None, Any]) -> ImportRow:
        if raw.get(None):
            raise Rejected(BAD_ROW, "这一行的列数多于表头")
        row = read_row(number, {k: v for k, v in raw.items() if k is not None}, self.program, self.now)
        first = self.first_row_of.setdefault(row.phone, number)
        if first != number:
            raise Rejected(DUPLICATE_PHONE, f"手机号与第 {first} 行相同")
        return row

    def _phone_taken(self, phone: str) -> bool:
        return any(member is not None for member in self.uow.query(records.phone_holders(phone)).items)

    def _alone(self, newcomer: Arrival) -> None:
        """Write one member in a transaction of its own, drawing another referral code on a clash."""
        for _ in range(REFERRAL_DRAWS):
            try:
                commit(self.uow, records.arrivals([newcomer], self.program.base_tier.code))
            except records.AlreadyImported:
                self._found(newcomer)
                return
            except records.ReferralClash:
                newcomer = replace(newcomer, member=replace(newcomer.member, referral_code=new_referral_code()))
                continue
            self._count([newcomer])
            return
        raise StoreUnavailable("referral codes kept clashing")

    def _found(self, newcomer: Arrival) -> None:
        """Count a member whose item exists: written by this run if it holds the referral code drawn
        here (an attempt whose answer was lost, then refused on retry), else imported before."""
        stored = self.uow.read(member=records.member_record(newcomer.member.member_id))["member"]
        if stored is not None and stored.referral_code == newcomer.member.referral_code:
            self._count([newcomer])
        else:
            self.summary.already_imported += 1

    def _count(self, batch: list[Arrival]) -> None:
        self.summary.imported += len(batch)
        self.summary.points += sum(entry.delta for member in batch for entry in member.entries)


def import_file(uow: UnitOfWork, source: Path, rejects_path: Path, now: datetime, *, encoding: str = "utf-8-sig",
                check_phones: bool = False, progress: Progress | None = None) -> ImportSummary:
    """Import the members of `source`; rejected rows go to `rejects_path`. StoreUnavailable when the
    store fails on the way (run again to resume); BadHeader for a file not in the import format."""
    with source.open(encoding=encoding, newline="") as counting:
        total = sum(1 for _ in csv.reader(counting)) - 1
    bar = progress or Progress("import", quiet=True)
    bar.total = max(total, 0)
    with source.open(encoding=encoding, newline="") as file:
        reader = csv.DictReader(file)
        check_header(reader.fieldnames)
        program: Program = uow.read(program=settings.program())["program"]
        key = records.import_key(uow, now)
        with private_file(rejects_path) as out:
            writer = csv.DictWriter(out, ["row", "reason", "detail", *(reader.fieldnames or [])])
            writer.writeheader()
            importer = Importer(uow, program, key, now, writer, check_phones=check_phones)
            numbered = enumerate(reader, start=1)
            while chunk := list(itertools.islice(numbered, CHUNK)):
                importer.take(chunk)
                bar.advance(len(chunk))
            importer.flush()
    bar.close()
    return importer.summary


"""The one way state changes: read, replay a recorded answer or decide, commit.

A `Command` names what to read (in one round trip, together with the answer already recorded for
its key, if it has one), a `decide` that turns what was read into a `Decision` (the answer and the
parts to write), and where its answer is kept. `run` reads; replays the recorded answer when
there is one (the caller's key-reuse error when it was recorded for another request); else decides
and writes the decision's parts with the answer, in one transaction. A lost race (`StaleRead`:
the data moved on since it was read, or another attempt recorded the answer first) is run again
from the read, after a backoff with full jitter (a random pause up to a ceiling that doubles with
each lost race), until the time budget is spent; then the answer is `503 STORE_UNAVAILABLE` with
`Retry-After`. Twenty concurrent writes to one member all get through well inside the budget,
which itself stays well inside the API function's 10 s timeout.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from chalicelib import clock
from chalicelib.errors import AppError, IdempotencyKeyReused, StoreUnavailable
from chalicelib.store.idempotency import StoredAnswer
from chalicelib.store.parts import Get, StaleRead, UnitOfWork, Write, merged

R = TypeVar("R")
RECORDED_ANSWER = "_answer"  # where a read (or a command's `first`) holds the answer recorded for its key
BUDGET_SECONDS = 4.0
FIRST_BACKOFF_SECONDS = 0.02
MAX_BACKOFF_SECONDS = 1.0
CONFLICT_MESSAGE = "并发冲突，请重试"


class AnswerKey(Protocol):
    """Where a command's first answer is kept (`idempotency.RequestKey`, `orders.OrderKey`)."""

    @property
    def read(self) -> Get[Any, StoredAnswer | None]:
        """The answer recorded so far, if any."""

    def record(self, answer: StoredAnswer, now: datetime) -> Write | None:
        """The part that records the answer with the change (None when a decided part does)."""


@dataclass(frozen=True)
class Decision(Generic[R]):
    """What a command decided: its answer and the parts that make it true."""

    answer: R
    writes: Sequence[Write] = ()
    status: int = 201


@dataclass(frozen=True)
class Command(Generic[R]):
    """One state change: what to read, how to decide, and (optionally) its idempotency key.

    `check` runs on what was read before a recorded answer is replayed (e.g. that a token's
    member still is the openid's); `first` holds what the caller already read, used instead of
    the first read (with the recorded answer under `RECORDED_ANSWER`, for a command with a key)."""

    reads: Mapping[str, Get[Any, Any]]
    decide: Callable[[dict[str, Any]], Decision[R]]
    key: AnswerKey | None = None
    fingerprint: str = ""
    reused: Callable[[], AppError] = IdempotencyKeyReused
    check: Callable[[dict[str, Any]], None] | None = None
    first: Mapping[str, Any] | None = field(default=None)


def run(uow: UnitOfWork, command: Command[R], *, dry_run: bool = False) -> tuple[int, R]:
    """(status, answer) of the command: replayed, or decided and committed (with `dry_run`,
    decided only). StoreUnavailable (with its Retry-After) when lost races outlast the time budget."""
    deadline = time.monotonic() + BUDGET_SECONDS
    read: Mapping[str, Any] | None = command.first
    attempt = 0
    while True:
        try:
            return _attempt(uow, command, dict(read) if read is not None else None, dry_run)
        except StaleRead:
            read, attempt = None, attempt + 1
            left = deadline - time.monotonic()
            if left <= 0:
                raise StoreUnavailable(CONFLICT_MESSAGE) from None
            ceiling = min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** min(attempt, 10))
            time.sleep(min(left, random.uniform(0, ceiling)))


def _attempt(uow: UnitOfWork, command: Command[R], read: dict[str, Any] | None, dry_run: bool) -> tuple[int, R]:
    if read is None:
        parts = dict(command.reads)
        if command.key is not None:
            parts[RECORDED_ANSWER] = command.key.read
        read = uow.read(**parts)
    stored: StoredAnswer | None = read.pop(RECORDED_ANSWER, None)
    if command.check is not None:
        command.check(read)
    if stored is not None:
        if stored.fingerprint != command.fingerprint:
            raise command.reused()
        return stored.status, stored.body
    decision = command.decide(read)
    if dry_run:
        return decision.status, decision.answer
    writes = list(decision.writes)
    if command.key is not None:
        kept = command.key.record(StoredAnswer(command.fingerprint, decision.status, decision.answer), clock.now())
        writes = ([kept] if kept is not None else []) + writes
    uow.write(*merged(writes))
    return decision.status, decision.answer


def commit(uow: UnitOfWork, writes: Sequence[Write]) -> None:
    """Write parts that need no read first, running them again after a lost race; the error of a
    part whose own condition fails (e.g. a duplicate) is the caller's to handle."""
    run(uow, Command({}, lambda _: Decision(None, writes)))

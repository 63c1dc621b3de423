"""The merchant's two catalogs, coupon templates and points-mall rewards, share their use cases:
every item, what a member's tier is shown, and an edit conditioned on the version read."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from chalicelib.domain.coupons import Template
from chalicelib.domain.rewards import Reward
from chalicelib.domain.tiers import check_tier_codes
from chalicelib.domain.tokens import Principal
from chalicelib.errors import NotFound
from chalicelib.services.common import tier_of
from chalicelib.services.runner import Command, Decision, run
from chalicelib.store import settings
from chalicelib.store.parts import Get, Query, UnitOfWork, Write, every

C = TypeVar("C", Template, Reward)


@dataclass(frozen=True)
class Catalog(Generic[C]):
    """One catalog: its pages and items in the store, its edit, its validation and the message of
    an unknown item."""

    page: Callable[[str | None, int], Query[Any, C | None]]
    cursor_after: Callable[[C], str | None]
    item: Callable[[str], Get[Any, C | None]]
    edit: Callable[[C], Write]
    validate: Callable[..., dict[str, Any]]
    missing: str

    def items(self, uow: UnitOfWork) -> list[C]:
        """Every item (one Query a page)."""
        return [item for item in every(uow, lambda cursor: self.page(cursor, 100)) if item is not None]

    def one(self, uow: UnitOfWork, item_id: str) -> C:
        """One item (NotFound when unknown)."""
        found: C | None = uow.read(item=self.item(item_id))["item"]
        if found is None:
            raise NotFound(self.missing)
        return found

    def page_of(self, uow: UnitOfWork, limit: int, cursor: str | None) -> tuple[list[C], str | None]:
        """`limit` items after the cursor, by id, and the next cursor (None when none are left):
        one Query, of one item more than asked."""
        found = [item for item in uow.query(self.page(cursor, limit + 1)).items if item is not None]
        return found[:limit], self.cursor_after(found[limit - 1]) if len(found) > limit else None

    def shown_to(self, uow: UnitOfWork, principal: Principal | None, offered: Callable[[C], bool]) -> list[C]:
        """The offered items a member's tier allows (a visitor, or no token: those open to every
        tier); the member's tier is read only when some offered item is restricted to tiers."""
        items = [item for item in self.items(uow) if offered(item)]
        tier = tier_of(uow, principal) if any(item.tiers for item in items) else None
        return [item for item in items if item.allows_tier(tier)]

    def patch(self, uow: UnitOfWork, item_id: str, changes: Any) -> C:
        """Change some fields of an item (validated as a whole, its tiers against the program read
        with it), if it is still at the version read; the item as it is now."""
        def decide(read: dict[str, Any]) -> Decision[C]:
            current: C | None = read["item"]
            if current is None:
                raise NotFound(self.missing)
            updated = replace(current, **self.validate(changes, current=current))
            check_tier_codes(sent_tiers(changes, updated.tiers), read["program"])
            return Decision(replace(updated, version=current.version + 1), [self.edit(updated)])

        return run(uow, Command({"item": self.item(item_id), "program": settings.program()}, decide))[1]


def sent_tiers(document: Any, tiers: list[str] | None) -> list[str] | None:
    """The `tiers` list as the request sent it (its indices name the field), else the item's."""
    sent = document.get("tiers") if isinstance(document, dict) else None
    return sent if isinstance(sent, list) else tiers

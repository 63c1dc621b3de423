"""What every table shares: its placement (prefix, endpoint, region from the settings), the fan-out
shards of the member-keyed indexes, and the conditioned edit of a catalog item's definition."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import placement
from chalicelib.store.parts import Update, assign, encode_cursor, eq, key_names

SHARDS = 16
CATALOG = "main"


class TableMeta:
    """Table placement shared by every model: prefix, endpoint and region from the environment
    (`config.placement`, which needs no secrets, so that packaging can import the models)."""

    table_name: str
    host: str | None
    region: str
    billing_mode: str

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        conf = placement()
        cls.table_name = conf.table_prefix + cls.table_name
        cls.host = conf.dynamodb_endpoint_url
        cls.region = conf.aws_region
        cls.billing_mode = "PAY_PER_REQUEST"


def shard_of(member_id: str) -> str:
    """The member's fan-out shard (`00`..`15`), stable for its lifetime."""
    return f"{int(hashlib.sha256(member_id.encode()).hexdigest()[:8], 16) % SHARDS:02d}"


def all_shards() -> list[str]:
    """Every shard, in order."""
    return [f"{shard:02d}" for shard in range(SHARDS)]


class CounterRecord(Model):
    """An item of a `bucket` and a `key` whose number attributes besides the declared ones are
    counters (`counters`), added to with DynamoDB's ADD (a missing one counts as 0)."""

    bucket = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counters: dict[str, int] = {}

    @classmethod
    def from_raw_data(cls, data: dict[str, Any]) -> Any:
        """The record with its counters (the number attributes pynamodb does not declare)."""
        record = super().from_raw_data(data)
        declared = {attribute.attr_name for attribute in cls.get_attributes().values()}
        record.counters = {name: int(value["N"]) for name, value in data.items()
                           if "N" in value and name not in declared}
        return record

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        """The item with its counters (for the in-memory unit of work)."""
        raw = super().serialize(null_check=null_check)
        raw.update({name: {"N": str(value)} for name, value in self.counters.items()})
        return raw


class CatalogRecord(Model):
    """An item of a merchant's catalog (coupon templates, rewards): its editable definition (JSON)
    and a version that every edit bumps, so that issuing is conditioned on the version read."""

    catalog = UnicodeAttribute(hash_key=True)
    definition = UnicodeAttribute()
    version = NumberAttribute(default=0)


def definition_edit(model: type[CatalogRecord], item_id: str, item: Any, fields: tuple[str, ...]) -> Update:
    """Replace a catalog item's definition and bump its version, if it is still at the version read."""
    return Update(model, (CATALOG, item_id),
                  (assign(model.definition, definition(item, fields)), assign(model.version, item.version + 1)),
                  condition=eq(model.version, item.version))


def catalog_cursor(model: type[CatalogRecord], item_id: str) -> str | None:
    """The opaque cursor after a catalog item (pages of the catalog go by item id)."""
    return encode_cursor({"catalog": {"S": CATALOG}, str(key_names(model)[1]): {"S": item_id}})


def definition(item: Any, fields: tuple[str, ...]) -> str:
    """A catalog item's editable fields, as its record stores them (JSON)."""
    return json.dumps({name: getattr(item, name) for name in fields}, ensure_ascii=False)

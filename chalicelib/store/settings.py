"""Settings: small shared documents, each one item: the merchant's program and the WeChat access
token that every instance shares.

| access pattern                            | table / index          | call                  |
| ----------------------------------------- | ---------------------- | --------------------- |
| the program (with the use case's read)    | settings `program`     | TransactGetItems / GetItem |
| the shared WeChat access token            | settings `wechat_token` | GetItem / PutItem    |

The test clock of the local stage is not stored: it belongs to one server process (`clock`).
"""
from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.domain.program import Program, default_program
from chalicelib.store.base import TableMeta
from chalicelib.store.parts import Get, Put, UnitOfWork, absent

PROGRAM_KEY = "program"
WECHAT_TOKEN_KEY = "wechat_token"
IMPORT_KEY = "import_key"


class ProgramExists(Exception):
    """A program is stored already (seeding keeps it)."""


class SettingRecord(Model):
    """A small shared document: the program (`program`) or the WeChat access token (`wechat_token`)."""

    class Meta(TableMeta):
        table_name = "settings"

    key = UnicodeAttribute(hash_key=True)
    value = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


MODELS: tuple[type[Model], ...] = (SettingRecord,)


def _program(record: SettingRecord | None) -> Program:
    return _parsed(record.value) if record else default_program()


@lru_cache(maxsize=8)
def _parsed(document: str) -> Program:
    """The Program of a stored document: validated once per document text (a Program is frozen),
    not on every request; a changed program is a new text, read at once by every instance."""
    return Program.from_document(json.loads(document))


def program() -> Get[SettingRecord, Program]:
    """The program in force (the default until one is stored)."""
    return Get(SettingRecord, (PROGRAM_KEY,), _program)


def save_program(program: Program, now: datetime, *, only_if_absent: bool = False) -> Put:
    """Store the program document; with `only_if_absent`, ProgramExists keeps a stored one."""
    record = SettingRecord(PROGRAM_KEY, value=json.dumps(program.document(), ensure_ascii=False), updated_at=now)
    return Put(record, absent(), ProgramExists()) if only_if_absent else Put(record)


def wechat_token() -> Get[SettingRecord, tuple[str, int] | None]:
    """The shared WeChat access token and its expiry (epoch seconds), if any."""
    return Get(SettingRecord, (WECHAT_TOKEN_KEY,),
               lambda r: (r.value, int(r.expires_at)) if r and r.expires_at is not None else None)


def import_key() -> Get[SettingRecord, bytes | None]:
    """The key of imported members' ids, if the admin CLI ever imported (it draws the key)."""
    return Get(SettingRecord, (IMPORT_KEY,), lambda r: bytes.fromhex(r.value) if r is not None else None)


def save_wechat_token(token: str, expires_at: int, now: datetime) -> Put:
    """Share a freshly fetched WeChat access token with every instance."""
    return Put(SettingRecord(WECHAT_TOKEN_KEY, value=token, expires_at=expires_at, updated_at=now))


class SharedTokenCache:
    """The WeChat adapter's token cache (`wechat.miniprogram.TokenCache`) in the settings table,
    shared by every instance."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def get(self) -> tuple[str, int] | None:
        """The shared token and its expiry (epoch seconds), if any."""
        token: tuple[str, int] | None = self._uow.read(token=wechat_token())["token"]
        return token

    def put(self, token: str, expires_at: int, now: datetime) -> None:
        """Share a new token."""
        self._uow.write(save_wechat_token(token, expires_at, now))

"""Reading and replacing the merchant's program."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.domain.program import default_program, validate_program
from chalicelib.services import automations
from chalicelib.store import settings
from chalicelib.store.parts import UnitOfWork


def get_program(uow: UnitOfWork) -> dict[str, Any]:
    """The program in force, as its document."""
    document: dict[str, Any] = uow.read(program=settings.program())["program"].document()
    return document


def replace_program(uow: UnitOfWork, document: Any) -> dict[str, Any]:
    """Validate a whole program document, store it with its automations kept among those ever
    configured (their results outlive them), and return it as stored."""
    program = validate_program(document)
    uow.write(settings.save_program(program, clock.now()), *automations.configured(program))
    return program.document()


def seed_default_program(uow: UnitOfWork) -> bool:
    """Store the default program unless one exists (local stack start-up); True if it was stored."""
    try:
        uow.write(settings.save_program(default_program(), clock.now(), only_if_absent=True))
    except settings.ProgramExists:
        return False
    return True

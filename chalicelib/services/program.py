"""Reading and replacing the merchant's program."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.domain.program import default_program, validate_program
from chalicelib.store.repository import store


def get_program() -> dict[str, Any]:
    """The program in force."""
    return store().program()


def replace_program(document: Any) -> dict[str, Any]:
    """Validate a whole program document, store it, and return it as stored."""
    program = validate_program(document)
    store().save_program(program, clock.now())
    return program


def seed_default_program() -> bool:
    """Store the default program unless one exists (local stack start-up); True if it was stored."""
    return store().save_program(default_program(), clock.now(), only_if_absent=True)

"""Reading and replacing the merchant's program."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.domain.program import Program, default_program, validate_program
from chalicelib.errors import ValidationError
from chalicelib.services import automations
from chalicelib.store import coupons, settings
from chalicelib.store.parts import UnitOfWork, read_all


def get_program(uow: UnitOfWork) -> dict[str, Any]:
    """The program in force, as its document."""
    document: dict[str, Any] = uow.read(program=settings.program())["program"].document()
    return document


def replace_program(uow: UnitOfWork, document: Any) -> dict[str, Any]:
    """Validate a whole program document (an automation's coupon must be an existing template),
    store it with its automations kept among those ever configured (their results outlive them),
    and return it as stored."""
    program = validate_program(document)
    _check_automation_coupons(uow, program)
    uow.write(settings.save_program(program, clock.now()), *automations.configured(program))
    return program.document()


def seed_default_program(uow: UnitOfWork) -> bool:
    """Store the default program unless one exists (local stack start-up); True if it was stored."""
    try:
        uow.write(settings.save_program(default_program(), clock.now(), only_if_absent=True))
    except settings.ProgramExists:
        return False
    return True


def _check_automation_coupons(uow: UnitOfWork, program: Program) -> None:
    """ValidationError (field `automations[i].coupon_template_id`) for an automation whose coupon
    template does not exist; one read of the templates named."""
    named = {i: rule.coupon_template_id for i, rule in enumerate(program.automations) if rule.coupon_template_id}
    found = read_all(uow, {template_id: coupons.template(template_id) for template_id in set(named.values())})
    for i, template_id in named.items():
        if found[template_id] is None:
            raise ValidationError("优惠券模板不存在", f"automations[{i}].coupon_template_id")

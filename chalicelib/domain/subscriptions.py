"""Subscribe-message grants: what each WeChat subscribe event changes for one openid.

A one-time template can be sent once per `accept` in the popup (`subscribe_msg_popup_event`);
switching it off in the settings (`subscribe_msg_change_event` with `reject`) takes every grant
left; the results of sends (`subscribe_msg_sent_event`) are recorded on the template's grants.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

POPUP = "subscribe_msg_popup_event"
CHANGE = "subscribe_msg_change_event"
SENT = "subscribe_msg_sent_event"


@dataclass
class GrantChange:
    """The change of one (openid, template) grant item."""

    template_id: str
    grants: int = 0
    switched_off: bool = False
    choice: str | None = None
    send_status: str | None = None
    send_error_code: int | None = None
    msg_id: str | None = None


def plan_grants(event: str, items: Iterable[Mapping[str, str]]) -> list[GrantChange]:
    """The grant changes of a push (one per template, in order of appearance); none for events
    that do not touch grants and for popup choices other than `accept`."""
    if event not in (POPUP, CHANGE, SENT):
        return []
    changes: dict[str, GrantChange] = {}
    for item in items:
        template_id = item.get("TemplateId", "").strip()
        status = item.get("SubscribeStatusString", "").strip()
        if not template_id or (event == POPUP and status != "accept") or (event == CHANGE and not status):
            continue
        change = changes.setdefault(template_id, GrantChange(template_id))
        if event == POPUP:
            change.grants += 1
            change.choice = "accept"
        elif event == CHANGE:
            change.choice = status
            change.switched_off = status == "reject"
        else:
            change.send_error_code = _error_code(item.get("ErrorCode", ""))
            change.send_status = item.get("ErrorStatus") or None
            change.msg_id = item.get("MsgID") or None
    return list(changes.values())


def _error_code(text: str) -> int | None:
    """WeChat's ErrorCode of a send (a small integer), or None when it is anything else."""
    digits = text.strip().removeprefix("-")
    return int(text) if 0 < len(digits) <= 10 and digits.isascii() and digits.isdigit() else None

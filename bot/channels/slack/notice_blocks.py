"""Block Kit for IT's notice work in Slack, pure: the Confirm / Discard / Resolve buttons on a draft's
triage post, and the ``/itbot-notice`` modal.

A button carries only the notice id (``{"n": "12"}``); the handler looks the notice up and checks
what may be done with it, so a forged value can do no more than the clicker could anyway.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.notices.intake import CONFIRM_PREFIX, DISCARD_PREFIX, RESOLVE_PREFIX
from bot.notices.lifecycle import allowed_next
from bot.notices.models import Notice, NoticeKind, NoticeStatus

ACTION_DRAFT_CONFIRM = "itbot_draft_confirm"
ACTION_DRAFT_DISCARD = "itbot_draft_discard"
ACTION_NOTICE_RESOLVE = "itbot_notice_resolve"

NOTICE_VIEW = "itbot_notice_view"
NOTICE_PICK_VIEW = "itbot_notice_pick_view"
# Block ids of the modal's inputs (each input's action id is the same string).
F_KIND = "kind"
F_NOTICE = "notice"
F_TITLE = "title"
F_SYSTEMS = "systems"
F_BODY = "body"
F_STATUS = "status"
F_IMPACT = "impact"
F_NEXT = "next_update"
F_STARTS = "starts"
F_ENDS = "ends"
F_SITES = "sites"
F_CHANGES = "staff_changes"
F_ARTICLE = "procedure_article"
ARTICLE_HINT = "An article id from the knowledge base, e.g. downtime/ehr-downtime-procedures"

_NOTICE_BUTTONS = (
    (CONFIRM_PREFIX, "Confirm and post", ACTION_DRAFT_CONFIRM, "primary"),
    (DISCARD_PREFIX, "Discard", ACTION_DRAFT_DISCARD, "danger"),
    (RESOLVE_PREFIX, "Resolve", ACTION_NOTICE_RESOLVE, "primary"),
)
MAX_OPTIONS = 100  # Slack's limit for a static select


def notice_buttons(actions: Sequence[str]) -> list[dict[str, Any]]:
    """A button for each notice action among ``actions`` (``draft_confirm:<id>`` ...), in order."""
    buttons: list[dict[str, Any]] = []
    for action in actions:
        for prefix, label, action_id, style in _NOTICE_BUTTONS:
            digits = action.removeprefix(prefix)
            if action.startswith(prefix) and digits.isdigit():
                buttons.append(
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": label, "emoji": True},
                        "action_id": action_id,
                        "value": json.dumps({"n": digits}, separators=(",", ":")),
                        "style": style,
                    }
                )
    return buttons


def notice_id_of(value: object) -> int | None:
    """The notice id a notice button carries, or None for a value that is not one."""
    if not isinstance(value, str) or len(value) > 100:
        return None
    try:
        decoded = json.loads(value)
    except json.JSONDecodeError:
        return None
    digits = decoded.get("n") if isinstance(decoded, dict) else None
    return int(digits) if isinstance(digits, str) and digits.isdigit() and len(digits) <= 12 else None


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:75], "emoji": True}


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _text(label), "value": value}


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = ""
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": _text(label),
        "element": {**element, "action_id": block_id},
        "optional": optional,
    }
    if hint:
        block["hint"] = _text(hint)
    return block


def _select(options: list[dict[str, Any]], initial: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "static_select", "options": options}
    chosen = next((o for o in options if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return element


def _status_label(status: NoticeStatus) -> str:
    return status.value.replace("_", " ").capitalize()


def pick_view(open_notices: Sequence[Notice], *, channel: str) -> dict[str, Any]:
    """The first modal: post a new outage or upgrade, or pick an open notice to update or resolve."""
    choices = [_option("New outage", "new:outage"), _option("New upgrade", "new:upgrade")]
    choices += [
        _option(f"#{n.id} {n.title}", f"notice:{n.id}")
        for n in open_notices[: MAX_OPTIONS - 2]
        if n.id is not None and n.status is not NoticeStatus.DRAFT
    ]
    return {
        "type": "modal",
        "callback_id": NOTICE_PICK_VIEW,
        "private_metadata": json.dumps({"c": channel}),
        "title": _text("IT notice"),
        "submit": _text("Next"),
        "close": _text("Cancel"),
        "blocks": [
            _input(F_NOTICE, "Post a new notice, or update an open one", _select(choices, "new:outage"))
        ],
    }


def new_notice_view(kind: NoticeKind, system_names: Sequence[str], *, channel: str) -> dict[str, Any]:
    """The modal for a new notice of ``kind``: title, systems (from the registry), sites or units,
    body, and the impact and next update (outage) or the window, what changes for staff and the
    downtime-procedure article (upgrade)."""
    blocks = [
        _input(F_TITLE, "Title", {"type": "plain_text_input", "max_length": 200}),
        _input(
            F_SYSTEMS,
            "Systems",
            {"type": "multi_static_select", "options": [_option(s, s) for s in system_names[:MAX_OPTIONS]]},
        ),
        _input(
            F_SITES,
            "Sites or units",
            {"type": "plain_text_input", "max_length": 500},
            optional=True,
            hint="Comma-separated, e.g. ED, 4 West. Empty: every site.",
        ),
        _input(
            F_BODY, "What staff should know", {"type": "plain_text_input", "multiline": True}, optional=True
        ),
    ]
    if kind is NoticeKind.OUTAGE:
        impacts = [_option("Degraded (slow, partly working)", "degraded"), _option("Down", "down")]
        blocks.append(_input(F_IMPACT, "Impact", _select(impacts, "degraded")))
        blocks.append(_next_update_input())
    else:
        blocks.append(_time_input(F_STARTS, "Window starts", "e.g. 2026-12-05T02:00 (UTC) or +2h"))
        blocks.append(_time_input(F_ENDS, "Window ends", "e.g. 2026-12-05T04:00 (UTC) or +4h"))
        blocks.append(_changes_input())
        blocks.append(_article_input())
    return {
        "type": "modal",
        "callback_id": NOTICE_VIEW,
        "private_metadata": json.dumps({"k": kind.value, "c": channel}),
        "title": _text(f"New {kind.value}"),
        "submit": _text("Post"),
        "close": _text("Cancel"),
        "blocks": blocks,
    }


def update_notice_view(notice: Notice, *, channel: str) -> dict[str, Any]:
    """The modal for an update of ``notice``: its next status (resolving included), words, the next
    update (outage) or a new window (upgrade)."""
    assert notice.id is not None
    statuses = [notice.status, *sorted(allowed_next(notice.kind, notice.status), key=lambda s: s.value)]
    options = [_option(_status_label(s), s.value) for s in statuses if s is not NoticeStatus.DISCARDED]
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*#{notice.id} {notice.title}*"}},
        _input(F_STATUS, "Status", _select(options, notice.status.value)),
        _input(F_BODY, "Update for staff", {"type": "plain_text_input", "multiline": True}, optional=True),
    ]
    if notice.kind is NoticeKind.OUTAGE:
        blocks.append(_next_update_input())
    else:
        blocks.append(_time_input(F_STARTS, "New window start", "leave empty to keep it", optional=True))
        blocks.append(_time_input(F_ENDS, "New window end", "leave empty to keep it", optional=True))
        blocks.append(_changes_input(notice.staff_changes))
        blocks.append(_article_input(notice.procedure_article))
    return {
        "type": "modal",
        "callback_id": NOTICE_VIEW,
        "private_metadata": json.dumps({"n": str(notice.id), "k": notice.kind.value, "c": channel}),
        "title": _text(f"Update #{notice.id}"),
        "submit": _text("Post update"),
        "close": _text("Cancel"),
        "blocks": blocks,
    }


def _changes_input(initial: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": True, "max_length": 3000}
    if initial:
        element["initial_value"] = initial[:3000]
    return _input(F_CHANGES, "What changes for staff", element, optional=True)


def _article_input(initial: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "max_length": 255}
    if initial:
        element["initial_value"] = initial
    return _input(F_ARTICLE, "Downtime procedure article", element, optional=True, hint=ARTICLE_HINT)


def _next_update_input() -> dict[str, Any]:
    return _time_input(F_NEXT, "Next update", "e.g. +30m, or 2026-12-05T10:00 (UTC)", optional=True)


def _time_input(block_id: str, label: str, hint: str, *, optional: bool = False) -> dict[str, Any]:
    element = {"type": "plain_text_input", "max_length": 64, "placeholder": _text(hint)}
    return _input(block_id, label, element, optional=optional, hint=hint)


def submitted(view: dict[str, Any]) -> dict[str, Any]:
    """The values of a submitted modal by block id: text, a selected option's value, or a list of
    the values of a multi-select; inputs left empty are absent."""
    found: dict[str, Any] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        element = (actions or {}).get(block_id) or {}
        if element.get("selected_options") is not None:
            found[block_id] = [str(o.get("value", "")) for o in element["selected_options"]]
        elif element.get("selected_option"):
            found[block_id] = str(element["selected_option"].get("value", ""))
        elif isinstance(element.get("value"), str) and element["value"].strip():
            found[block_id] = element["value"]
    return found


def view_metadata(view: dict[str, Any]) -> dict[str, str]:
    """The modal's ``private_metadata`` fields (``{}`` when it is not ours)."""
    try:
        decoded = json.loads(str(view.get("private_metadata") or "{}"))
    except json.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in decoded.items()} if isinstance(decoded, dict) else {}

"""Alerts from monitoring, read from the two shapes ``POST /api/alerts`` accepts. Pure: no database.

**Generic** (any monitoring that can send a webhook)::

    {"system": "Epic",                 # or "systems": ["Epic", "Citrix"]; a name or alias IT knows
     "summary": "Epic login slow",     # becomes the draft's title
     "status": "firing",               # or "resolved" (default "firing")
     "severity": "critical",           # optional: critical / page / high / disaster mean "down"
     "source": "zabbix",               # optional (default "monitoring")
     "fingerprint": "epic-login-p95",  # optional: what makes two alerts the same one
     "description": "p95 > 8 s"}       # optional: the draft's body

Without a ``fingerprint`` the same alert is the same source and systems.

**Prometheus Alertmanager** (webhook ``version`` "4"): the whole group is one alert, keyed by its
``groupKey``; it fires while the group's ``status`` is "firing". Each alert's system is its
``system`` label (else ``service``, else the group's common labels); the summary is the common
``summary`` annotation, else the first alert's ``summary`` or ``alertname``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.notices.errors import NoticeError
from bot.notices.models import Impact

MAX_SUMMARY = 200
MAX_DESCRIPTION = 4000
MAX_KEY = 255
MAX_ALERTS = 500
DOWN_SEVERITIES = frozenset({"critical", "page", "high", "disaster", "emergency", "fatal"})
SYSTEM_LABELS = ("system", "service")
GENERIC_FIELDS = "system (or systems), summary"


class AlertPayloadError(NoticeError):
    """An alert body that is neither shape, or lacks what a draft needs; the message says what."""

    code = "invalid_alert"


@dataclass(frozen=True)
class Alert:
    """One alert as intake reads it: which notice it belongs to (``key``), and what it says."""

    key: str
    source: str
    firing: bool
    systems: tuple[str, ...]
    summary: str
    description: str = ""
    severity: str = ""

    @property
    def impact(self) -> Impact:
        """``down`` for a critical alert, else ``degraded``."""
        return Impact.DOWN if self.severity.casefold() in DOWN_SEVERITIES else Impact.DEGRADED


def parse_alert(payload: Any) -> Alert:
    """The alert ``payload`` (decoded JSON) describes; raises ``AlertPayloadError`` saying what is
    missing or wrong."""
    if not isinstance(payload, dict):
        raise _bad("The alert must be a JSON object.")
    if "alerts" in payload or "groupKey" in payload:
        return _alertmanager(payload)
    return _generic(payload)


def _generic(payload: Mapping[str, Any]) -> Alert:
    systems = _names(payload.get("systems")) or _names(payload.get("system"))
    summary = _text(payload.get("summary"))
    missing = [name for name, value in (("system", systems), ("summary", summary)) if not value]
    if missing:
        raise _bad(f"The alert lacks {', '.join(missing)}. Send at least: {GENERIC_FIELDS}.")
    status = _text(payload.get("status") or "firing").casefold()
    if status not in ("firing", "resolved"):
        raise _bad(f'"status" must be "firing" or "resolved", not {status[:20]!r}.')
    source = _text(payload.get("source")) or "monitoring"
    fingerprint = _text(payload.get("fingerprint"))
    identity = fingerprint or ",".join(sorted(s.casefold() for s in systems))
    return Alert(
        key=_key(f"{source.casefold()}:{identity}"),
        source=source[:64],
        firing=status == "firing",
        systems=tuple(systems),
        summary=summary[:MAX_SUMMARY],
        description=_text(payload.get("description"))[:MAX_DESCRIPTION],
        severity=_text(payload.get("severity"))[:32],
    )


def _alertmanager(payload: Mapping[str, Any]) -> Alert:
    alerts = payload.get("alerts")
    group_key = _text(payload.get("groupKey"))
    if not isinstance(alerts, list) or not alerts or not group_key:
        raise _bad('An Alertmanager webhook needs "groupKey" and a non-empty "alerts" list.')
    if len(alerts) > MAX_ALERTS:
        raise _bad(f"At most {MAX_ALERTS} alerts in one group.")
    common_labels = _mapping(payload.get("commonLabels"))
    common_notes = _mapping(payload.get("commonAnnotations"))
    systems: list[str] = []
    summaries: list[str] = []
    descriptions: list[str] = []
    severities: list[str] = []
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            raise _bad(f"alerts[{index}] is not an object.")
        labels, notes = _mapping(alert.get("labels")), _mapping(alert.get("annotations"))
        named = next((_text(labels.get(k)) for k in SYSTEM_LABELS if _text(labels.get(k))), "")
        named = named or next((_text(common_labels.get(k)) for k in SYSTEM_LABELS), "")
        if not named:
            raise _bad(
                f'alerts[{index}] names no system: give it a "system" label (or "service") '
                "naming the system as itbot's registry knows it."
            )
        if named.casefold() not in (s.casefold() for s in systems):
            systems.append(named)
        summaries.append(_text(notes.get("summary")) or _text(labels.get("alertname")))
        descriptions.append(_text(notes.get("description")))
        severities.append(_text(labels.get("severity")))
    summary = _text(common_notes.get("summary")) or next((s for s in summaries if s), "")
    if not summary:
        summary = f"Alert on {', '.join(systems)}"
    if len(alerts) > 1 and not _text(common_notes.get("summary")):
        summary = f"{summary} (+{len(alerts) - 1} more)"
    severity = next((s for s in severities if s.casefold() in DOWN_SEVERITIES), severities[0])
    description = _text(common_notes.get("description")) or "\n".join(
        dict.fromkeys(d for d in descriptions if d)
    )
    status = _text(payload.get("status")).casefold()
    return Alert(
        key=_key(f"alertmanager:{group_key}"),
        source="alertmanager",
        firing=status != "resolved",
        systems=tuple(systems),
        summary=summary[:MAX_SUMMARY],
        description=description[:MAX_DESCRIPTION],
        severity=severity[:32],
    )


def _key(raw: str) -> str:
    """``raw`` itself when it fits the column, else its digest (still the same for the same alert)."""
    if len(raw) <= MAX_KEY:
        return raw
    return raw[:40] + ":sha256:" + hashlib.sha256(raw.encode()).hexdigest()


def _names(value: Any) -> list[str]:
    items: Sequence[Any] = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    names = [_text(item) for item in items if isinstance(item, str)]
    return [n for n in names if n][:50]


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _bad(message: str) -> AlertPayloadError:
    return AlertPayloadError(message, user_message=message)

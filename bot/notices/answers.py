"""Outage-aware answers: before the assistant is asked, a question about an active notice gets the
notice instead (``decision: outage``), with its status, its next update and a "Tell me when it's
fixed" action (``notify:<notice id>``).

The active notices are cached per database and process (``ActiveNoticesCache``): the matcher is
rebuilt when this process changed a notice, or at most every ``REFRESH_SECONDS`` for changes made by
other processes (the CLI, another server worker). A question costs the matcher's few microseconds;
the database is read once per refresh, not per question. A database that cannot be read gives no
outage reply (the assistant answers as before) and is tried again at the next refresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.core.models import Decision, NoticeRef, Question, Reply
from bot.core.scrub import scrub
from bot.interactions.models import utcnow
from bot.notices import active
from bot.notices.lifecycle import is_active
from bot.notices.matching import NoticeMatcher
from bot.notices.models import NoticeKind
from bot.notices.procedures import procedure_link
from bot.notices.queries import list_notices, list_systems
from bot.notices.snapshot import ActiveNotice
from indexer.glossary import GLOSSARY_FILE, load_glossary
from indexer.lexical import Glossary

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0
MAX_QUESTION_CHARS = 4000
NOTIFY_PREFIX = "notify:"


@dataclass
class _Entry:
    matcher: NoticeMatcher | None
    loaded_at: float
    generation: int
    fingerprint: object = None  # what the matcher was built from: unchanged, it is kept


class ActiveNoticesCache:
    """The matcher for the active notices of each database this process uses, reloaded when stale."""

    def __init__(
        self, *, refresh_seconds: float = REFRESH_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """``clock``: seconds, monotonic (tests pass their own)."""
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._glossaries: dict[Path, tuple[float, Glossary]] = {}
        self._lock = threading.Lock()

    def matcher(self, session: Session, *, kb: Path, now: datetime) -> NoticeMatcher | None:
        """The matcher for the notices active now in ``session``'s database (None when there are none)."""
        key = str(session.get_bind().engine.url)
        entry = self._entries.get(key)
        moment = self.clock()
        if (
            entry is not None
            and entry.generation == active.generation()
            and moment - entry.loaded_at < self.refresh_seconds
        ):
            return entry.matcher
        with self._lock:
            generation = active.generation()
            try:
                fresh = self._load(session, kb, now, entry)
            except SQLAlchemyError as exc:
                log.warning("event=notices_unreadable error=%s", type(exc).__name__)
                session.rollback()
                fresh = _Entry(
                    entry.matcher if entry else None, moment, generation, entry and entry.fingerprint
                )
            fresh.loaded_at, fresh.generation = moment, generation
            self._entries[key] = fresh
            return fresh.matcher

    def _load(self, session: Session, kb: Path, now: datetime, entry: _Entry | None) -> _Entry:
        """Read the active notices; build a matcher only when they (or the registry, or the glossary)
        changed since ``entry``'s: building one costs far more than reading them."""
        notices = [ActiveNotice.of(n) for n in list_notices(session=session, open_only=True)]
        live = tuple(n for n in notices if is_active(n, now))
        if not live:
            return _Entry(None, 0.0, 0, None)
        systems = tuple((s.name, tuple(s.aliases)) for s in list_systems(session=session))
        glossary = self._glossary(kb)
        fingerprint = (live, systems, id(glossary))
        if entry is not None and entry.fingerprint == fingerprint:
            return _Entry(entry.matcher, 0.0, 0, fingerprint)
        matcher = NoticeMatcher(live, {name: list(aliases) for name, aliases in systems}, glossary)
        return _Entry(matcher, 0.0, 0, fingerprint)

    def _glossary(self, kb: Path) -> Glossary:
        path = kb / GLOSSARY_FILE
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return Glossary()
        cached = self._glossaries.get(path)
        if cached is None or cached[0] != mtime:
            glossary, _ = load_glossary(path)
            self._glossaries[path] = cached = (mtime, glossary)
        return cached[1]


_CACHE = ActiveNoticesCache()


def outage_reply(
    session: Session, question: Question, *, kb: Path, cache: ActiveNoticesCache | None = None
) -> Reply | None:
    """The ``outage`` reply when ``question`` is about an active notice, else None (ask the assistant).

    Reads only: nobody is subscribed here (the "Tell me when it's fixed" action does that). The
    question is scrubbed before anything reads it; never raises for a database failure.
    """
    now = utcnow()
    matcher = (cache or _CACHE).matcher(session, kb=kb, now=now)
    if matcher is None:
        return None
    scrubbed = scrub(question.text[:MAX_QUESTION_CHARS])
    notice = matcher.match(scrubbed.text)
    if notice is None:
        return None
    log.info("event=outage_match notice_id=%s channel=%s", notice.id, question.channel)
    details = notice.to_json()
    return Reply(
        decision=Decision.OUTAGE,
        text=outage_text(notice),
        notice=NoticeRef(id=notice.id, title=notice.title, details=details),
        actions=(f"{NOTIFY_PREFIX}{notice.id}",),
        asked=scrubbed.text,
        reason="outage",
    )


def outage_text(notice: ActiveNotice) -> str:
    """What the person reads: the notice, its status, what to do, and when IT posts next (Markdown)."""
    status = notice.status.value.replace("_", " ")
    if notice.kind is NoticeKind.UPGRADE:
        lead = f"**Planned upgrade in progress:** {notice.title}"
        if notice.starts_at is not None and notice.ends_at is not None:
            lead += f" (window {_clock(notice.starts_at)} to {_clock(notice.ends_at)})"
        elif notice.ends_at is not None:
            lead += f" (until {_clock(notice.ends_at)})"
    else:
        lead = f"**Known issue:** {notice.title}"
        if notice.created_at is not None:
            lead += f" (since {_clock(notice.created_at)}; {status})"
        else:
            lead += f" ({status})"
    parts = [lead + "."]
    if notice.sites:
        parts.append("Affected: " + ", ".join(notice.sites) + ".")
    if notice.body:
        parts.append(notice.body)
    if notice.staff_changes:
        parts.append(f"What changes for you: {notice.staff_changes}")
    if notice.procedure_article:
        parts.append(f"Downtime procedure: {procedure_link(notice.procedure_article)}")
    if notice.next_update_at is not None:
        parts.append(f"Next update: {_clock(notice.next_update_at)}.")
    parts.append(
        "IT is on it: no need to open a ticket. Choose *Tell me when it's fixed* to hear when it is."
    )
    return "\n\n".join(parts)


def _clock(at: datetime) -> str:
    return at.strftime("%H:%M UTC")

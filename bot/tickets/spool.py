"""The safety net for a database outage: escalations kept as files until the database is back.

When an escalation cannot be written to the database, the flow writes it (scrubbed) to
``<ITBOT_HOME>/spool/escalations/``, one JSON file each, atomically (a hidden temporary file in the
same folder, flushed to disk, then renamed), and tells the person it was kept. The worker calls
``replay_spool`` on every loop: each file opens its ticket exactly once (the ticket records the file's
id as its ``source_key``, which is unique, so a crash between the commit and the file's removal, or
two workers at once, cannot open a second one), the person is told the number in their thread, and
the file is deleted. A conversation the database never held (it was down from the first message) is
stored then, with the kept turns, so the ticket and the thread are linked as any other. A file that
is not a spooled escalation is moved to ``rejected/`` beside them.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session

from bot.config import Settings
from bot.core.language import conversation_language
from bot.core.scrub import scrub_text
from bot.interactions.conversation_models import Conversation
from bot.interactions.models import new_id, utcnow
from bot.tickets.models import AuthorRole, EventKind
from bot.tickets.opening import DETAILS_PENDING_STATE, EscalationRequest, Opened, log_opened, open_ticket
from bot.tickets.outbox import enqueue
from bot.tickets.payloads import requester_message_payload
from bot.tickets.queries import (
    add_event,
    find_conversation_row,
    get_conversation_row,
    get_ticket_by_source_key,
    open_ticket_for_conversation,
)
from bot.tickets.replies import replayed_text
from bot.tickets.transcripts import appended, new_turn, person_texts, scrub_turns

log = logging.getLogger(__name__)

SPOOL_VERSION = 1


class SpooledEscalation(BaseModel):
    """One kept escalation: the request, the conversation's turns and the details, all scrubbed."""

    version: int = SPOOL_VERSION
    id: str = Field(default_factory=new_id)
    spooled_at: datetime = Field(default_factory=utcnow)
    request: EscalationRequest
    turns: list[dict[str, Any]] = Field(default_factory=list)
    details: str = ""
    thread_key: str = ""  # where the conversation is, as its channel spells it ("" in older files)


def spool_folder(settings: Settings) -> Path:
    """Where kept escalations wait: ``<home>/spool/escalations``."""
    return settings.home / "spool" / "escalations"


def spool_escalation(
    *,
    settings: Settings,
    request: EscalationRequest,
    turns: list[dict[str, Any]],
    details: str = "",
    thread_key: str = "",
) -> Path:
    """Keep an escalation as a file (scrubbed, written atomically); returns its path.

    ``thread_key`` lets the replay find (or store) the conversation when the database never held it.
    Raises ``OSError`` when the file cannot be written (then nothing was kept).
    """
    entry = SpooledEscalation(
        request=request, turns=scrub_turns(turns), details=scrub_text(details), thread_key=thread_key
    )
    folder = spool_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{entry.spooled_at:%Y%m%dT%H%M%S%f}-{entry.id}.json"
    final = folder / name
    temporary = folder / f".{name}.tmp"
    data = entry.model_dump_json().encode("utf-8")
    with open(temporary, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, final)
    _sync_folder(folder)
    log.warning(
        "event=escalation_spooled spool_id=%s conversation=%s channel=%s",
        entry.id,
        request.conversation_id,
        request.channel,
    )
    return final


def _sync_folder(folder: Path) -> None:
    # The rename is durable once the folder itself is flushed (POSIX); Windows cannot open folders.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def pending_files(settings: Settings) -> list[Path]:
    """The kept escalations waiting to be replayed, oldest first."""
    folder = spool_folder(settings)
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def replay_spool(*, settings: Settings, session: Session) -> int:
    """Open the tickets of every kept escalation, oldest first; returns how many tickets it opened.

    Each file opens its ticket exactly once and is then deleted; the person is told the number. Stops
    at the first database error (the database is still down) and leaves the rest for the next call.
    """
    count = 0
    for path in pending_files(settings):
        entry = _read(path, settings)
        if entry is None:
            continue
        source_key = f"spool:{entry.id}"
        try:
            opened = _replay(session, settings, entry, source_key)
            session.commit()
        except IntegrityError:
            session.rollback()
            if get_ticket_by_source_key(session=session, source_key=source_key) is None:
                log.error("event=spool_replay_failed spool_id=%s error=IntegrityError", entry.id)
                continue
            opened = None  # another worker opened it a moment ago
        except SQLAlchemyError as exc:
            session.rollback()
            log.warning("event=spool_replay_paused spool_id=%s error=%s", entry.id, type(exc).__name__)
            break
        path.unlink(missing_ok=True)
        if opened is not None:
            log_opened(opened, source="spool")
            log.info("event=spool_replayed spool_id=%s number=%s", entry.id, opened.ticket.number)
            count += 1
    return count


def _read(path: Path, settings: Settings) -> SpooledEscalation | None:
    try:
        return SpooledEscalation.model_validate(json.loads(path.read_bytes()))
    except FileNotFoundError:
        return None  # another worker replayed it
    except (OSError, ValueError, ValidationError) as exc:
        rejected = spool_folder(settings) / "rejected"
        rejected.mkdir(exist_ok=True)
        os.replace(path, rejected / path.name)
        log.error("event=spool_file_rejected file=%s error=%s", path.name, type(exc).__name__)
        return None


def _replay(session: Session, settings: Settings, entry: SpooledEscalation, source_key: str) -> Opened | None:
    if get_ticket_by_source_key(session=session, source_key=source_key) is not None:
        return None  # opened before a crash; only the file was left
    request = _linked(session, entry)
    existing = open_ticket_for_conversation(session=session, conversation_id=request.conversation_id)
    if existing is not None:
        text = entry.details or " ".join(t.get("text", "") for t in entry.turns if t.get("role") == "user")
        add_event(
            session=session,
            ticket=existing,
            kind=EventKind.DETAILS,
            author_role=AuthorRole.REQUESTER,
            author=request.requester,
            text=scrub_text(text),
        )
        return None
    opened = open_ticket(
        session=session,
        settings=settings,
        request=request,
        turns=entry.turns,
        details=entry.details,
        reported_at=entry.spooled_at,
        source_key=source_key,
    )
    number = opened.ticket.number
    language = conversation_language([*person_texts(entry.turns), entry.details])
    enqueue(
        session=session,
        target="chat",
        topic="chat.message",
        payload=requester_message_payload(
            opened.reporter,
            number=number,
            text=replayed_text(number, joined=opened.joined, language=language),
        ),
        idempotency_key=f"{number}:spool:{entry.id}",
        ticket_id=opened.ticket.id,
    )
    conversation = get_conversation_row(session=session, conversation_id=request.conversation_id)
    if conversation is not None:
        conversation.turns = appended(conversation.turns, [new_turn("event", f"ticket {number} opened")])
        if conversation.state == DETAILS_PENDING_STATE:
            conversation.state = ""
        conversation.updated_at = utcnow()
        session.add(conversation)
    return opened


def _linked(session: Session, entry: SpooledEscalation) -> EscalationRequest:
    """The request, pointing at its stored conversation: by id, else by its thread; a thread the
    database never held (it was down from the first message) is stored now, with the kept turns."""
    request = entry.request
    if not entry.thread_key or get_conversation_row(session=session, conversation_id=request.conversation_id):
        return request
    found = find_conversation_row(session=session, channel=request.channel, thread_key=entry.thread_key)
    if found is not None:
        return request.model_copy(update={"conversation_id": found.id})
    stored = Conversation(
        id=request.conversation_id,
        channel=request.channel,
        thread_key=entry.thread_key[:255],
        user_id=request.requester[:255],
        turns=entry.turns,
    )
    session.add(stored)
    session.flush()
    return request

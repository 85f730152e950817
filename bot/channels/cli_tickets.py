"""``itbot tickets ...``: IT works the escalated tickets from a terminal.

* ``itbot tickets list [--json] [--status S] [--failed]``: newest first; ``--json`` prints a JSON array
  of ``TicketPublic`` (a fixed contract); ``--failed``: tickets the service desk never received.
* ``itbot tickets show NUMBER [--json]``: details, reporters, history and the scrubbed transcript.
* ``itbot tickets reply NUMBER TEXT [--as AGENT]``: the reply reaches every reporter's thread.
* ``itbot tickets take NUMBER --as AGENT`` and ``itbot tickets resolve NUMBER [--note T] [--as AGENT]``.

Exit codes as for every command: 0 done, 1 the request failed (an unknown or closed ticket, with a
clear message), 2 set-up needed (the database cannot be reached).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.config import Settings
    from bot.tickets.models import TicketDetailPublic, TicketPublic

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SETUP = 2
# TicketStatus's values, spelled here so that building the parser loads no database layer.
STATUSES = ("new", "open", "waiting", "resolved", "closed")


def add_parser(sub: Any) -> None:
    """Register ``itbot tickets ...`` on the CLI's subparsers."""
    p_tickets = sub.add_parser("tickets", help="list, show, reply to, take and resolve escalated tickets")
    tickets = p_tickets.add_subparsers(dest="tickets_command", required=True)
    p_list = tickets.add_parser("list", help="the tickets, newest first")
    p_list.add_argument("--json", action="store_true", help="print a JSON array of tickets")
    p_list.add_argument("--status", choices=STATUSES, help="only tickets in this status")
    p_list.add_argument("--failed", action="store_true", help="only tickets the service desk never received")
    p_show = tickets.add_parser("show", help="one ticket: details, history, transcript")
    p_show.add_argument("number", help="e.g. IT-000123 (or 123)")
    p_show.add_argument("--json", action="store_true", help="print the ticket as JSON")
    p_reply = tickets.add_parser("reply", help="reply to the people who reported it, in their threads")
    p_reply.add_argument("number")
    p_reply.add_argument("text", nargs="+", help="what they should read")
    p_reply.add_argument("--as", dest="agent", default="", help="your name as the person sees it")
    p_take = tickets.add_parser("take", help="assign the ticket to yourself")
    p_take.add_argument("number")
    p_take.add_argument("--as", dest="agent", required=True, help="your name")
    p_resolve = tickets.add_parser("resolve", help="resolve the ticket; every reporter is told")
    p_resolve.add_argument("number")
    p_resolve.add_argument("--note", default="", help="what was done, for the people who reported it")
    p_resolve.add_argument("--as", dest="agent", default="", help="your name")


def run(settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Do one ``itbot tickets`` command; returns the exit code."""
    from sqlalchemy import Engine
    from sqlalchemy.exc import SQLAlchemyError

    from bot.core.errors import ItbotError
    from bot.db import create_db_engine, init_db, session_factory

    engine: Engine | None = None
    try:
        engine = create_db_engine(settings)
        init_db(settings, engine=engine)
        with session_factory(engine)() as session:
            return _dispatch(settings, args, session, out)
    except ItbotError as exc:
        print(f"itbot tickets: {exc.user_message}", file=err)
        return EXIT_FAILED
    except (SQLAlchemyError, OSError) as exc:
        print(
            f"itbot tickets: can't reach the database ({type(exc).__name__}); check DATABASE_URL.", file=err
        )
        return EXIT_SETUP
    finally:
        if engine is not None:
            engine.dispose()


def _dispatch(settings: Settings, args: argparse.Namespace, session: Session, out: TextIO) -> int:
    from bot.tickets.actions import reply_to_requester, resolve_ticket, take_ticket
    from bot.tickets.errors import TicketNotFoundError
    from bot.tickets.models import TicketStatus, ticket_detail_public, ticket_public
    from bot.tickets.numbers import normalize_number
    from bot.tickets.queries import get_ticket_by_number, list_events, list_reporters, list_tickets

    command = args.tickets_command
    if command == "list":
        status = TicketStatus(args.status) if args.status else None
        rows = [ticket_public(t) for t in list_tickets(session=session, status=status, failed=args.failed)]
        if args.json:
            out.write(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False) + "\n")
        else:
            out.write(render_list(rows))
        return EXIT_OK
    if command == "show":
        ticket = get_ticket_by_number(session=session, number=args.number)
        if ticket is None:
            raise TicketNotFoundError(args.number)
        detail = ticket_detail_public(
            ticket,
            list_events(session=session, ticket_id=ticket.id),
            list_reporters(session=session, ticket_id=ticket.id),
        )
        if args.json:
            out.write(json.dumps(detail.model_dump(mode="json"), ensure_ascii=False) + "\n")
        else:
            out.write(render_detail(detail))
        return EXIT_OK
    if command == "reply":
        text = " ".join(args.text)
        reply_to_requester(
            session=session, settings=settings, number=args.number, agent=args.agent, text=text
        )
        print(
            f"Replied on {normalize_number(args.number)}; the people who reported it will read it.", file=out
        )
        return EXIT_OK
    if command == "take":
        ticket = take_ticket(session=session, settings=settings, number=args.number, agent=args.agent)
        print(f"{ticket.number} is now assigned to {ticket.assignee}.", file=out)
        return EXIT_OK
    if command == "resolve":
        ticket = resolve_ticket(
            session=session, settings=settings, number=args.number, agent=args.agent, note=args.note
        )
        people = ticket.affected_count
        print(
            f"{ticket.number} resolved; {people} {'person' if people == 1 else 'people'} will be told.",
            file=out,
        )
        return EXIT_OK
    return EXIT_FAILED


def render_list(rows: list[TicketPublic]) -> str:
    """Tickets as a terminal table (number, status, priority, people, system, assignee, summary)."""
    if not rows:
        return "No tickets.\n"
    lines = [
        f"{'NUMBER':<10} {'STATUS':<8} {'PRIORITY':<9} {'PEOPLE':>6}  {'SYSTEM':<22} {'ASSIGNEE':<14} SUMMARY"
    ]
    for r in rows:
        lines.append(
            f"{r.number:<10} {r.status.value:<8} {r.priority_label:<9} {r.affected_count:>6}  "
            f"{(r.system or '-')[:22]:<22} {(r.assignee or '-')[:14]:<14} {r.summary}"
        )
    return "\n".join(lines) + "\n"


def render_detail(detail: TicketDetailPublic) -> str:
    """One ticket as terminal text: facts, reporters, history, transcript."""
    from bot.tickets.transcripts import transcript_text

    facts = [
        f"{detail.number}  {detail.status.value}  priority {detail.priority} ({detail.priority_label})",
        f"Summary:   {detail.summary}",
        f"System:    {detail.system or '-'} ({detail.category or '-'})",
        f"Location:  {detail.location or '-'}",
        f"Device:    {detail.device or '-'}",
        f"Patient waiting: {'yes' if detail.patient_waiting else 'no'}",
        f"Assignee:  {detail.assignee or '-'}",
        f"Opened:    {detail.created_at:%Y-%m-%d %H:%M} UTC via {detail.channel}",
        f"Requester: {detail.requester or '-'}",
        f"People:    {detail.affected_count}",
    ]
    lines = [*facts, "", "Reporters:"]
    lines += [
        f"  {r.joined_at:%H:%M} {r.requester or '-'} ({r.channel}): {r.report_text}" for r in detail.reporters
    ]
    lines += ["", "History:"]
    for e in detail.events:
        who = f"{e.author_role.value}{' ' + e.author if e.author else ''}"
        what = e.kind.value + (f" -> {e.status}" if e.status else "")
        lines.append(f"  {e.created_at:%Y-%m-%d %H:%M} {what} by {who}{': ' + e.text if e.text else ''}")
    lines += ["", "Transcript:", *("  " + line for line in transcript_text(detail.transcript).splitlines())]
    return "\n".join(lines) + "\n"

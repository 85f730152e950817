"""``itbot tickets ...``: IT works the escalated tickets from a terminal.

* ``itbot tickets list [--json] [--status S] [--failed]``: newest first; ``--json`` prints a JSON array
  of ``TicketPublic`` (a fixed contract); ``--failed``: tickets the service desk never received. Each
  ticket says where it is on its way to the service desk (``delivery``).
* ``itbot tickets show NUMBER [--json]``: details, delivery, reporters, history and the transcript.
* ``itbot tickets retry NUMBER ... | --all-dead [--json]``: requeue dead-lettered service-desk
  deliveries; the follow-ups they held go after them. Prints what it requeued.
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
    from bot.tickets.models import RequeuedPublic, TicketDetailPublic, TicketPublic

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
    p_retry = tickets.add_parser(
        "retry", help="send dead-lettered tickets to the service desk again (their held follow-ups follow)"
    )
    p_retry.add_argument("numbers", nargs="*", metavar="NUMBER", help="e.g. IT-000123 (or 123)")
    p_retry.add_argument("--all-dead", action="store_true", help="every dead-lettered delivery")
    p_retry.add_argument("--json", action="store_true", help="print what was requeued as JSON")


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
    from bot.interactions.models import utcnow
    from bot.tickets.actions import reply_to_requester, resolve_ticket, take_ticket
    from bot.tickets.delivery_state import deliveries
    from bot.tickets.errors import TicketNotFoundError
    from bot.tickets.models import TicketStatus, ticket_detail_public, ticket_public
    from bot.tickets.numbers import normalize_number
    from bot.tickets.queries import get_ticket_by_number, list_events, list_reporters, list_tickets

    command = args.tickets_command
    if command == "list":
        status = TicketStatus(args.status) if args.status else None
        tickets = list_tickets(session=session, status=status, failed=args.failed)
        found = deliveries(session=session, tickets=tickets, now=utcnow())
        rows = [ticket_public(t, found.get(t.id)) for t in tickets]
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
            deliveries(session=session, tickets=[ticket], now=utcnow()).get(ticket.id),
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
    if command == "retry":
        return _retry(args, session, out)
    return EXIT_FAILED


def _retry(args: argparse.Namespace, session: Session, out: TextIO) -> int:
    from bot.interactions.models import utcnow
    from bot.tickets.delivery_state import deliveries, requeue_dead
    from bot.tickets.errors import TicketError, TicketNotFoundError
    from bot.tickets.models import Ticket
    from bot.tickets.queries import get_ticket_by_number

    if bool(args.numbers) == bool(args.all_dead):
        raise TicketError(
            "retry: numbers xor --all-dead",
            user_message="retry: name the tickets (IT-000123 ...) or give --all-dead, one or the other.",
        )
    tickets: list[Ticket] | None = None
    if args.numbers:
        # Every number is checked before anything is requeued: a typo changes nothing.
        tickets = []
        for number in args.numbers:
            ticket = get_ticket_by_number(session=session, number=number)
            if ticket is None:
                raise TicketNotFoundError(number)
            if ticket not in tickets:
                tickets.append(ticket)
    report = requeue_dead(session=session, now=utcnow(), tickets=tickets)
    if args.json:
        out.write(json.dumps(report.model_dump(mode="json"), ensure_ascii=False) + "\n")
        return EXIT_OK
    for line in report.data:
        out.write(render_requeued(line) + "\n")
    done = {line.number for line in report.data}
    untouched = [t for t in tickets or [] if t.number not in done]
    if untouched:
        found = deliveries(session=session, tickets=untouched, now=utcnow())
        for ticket in untouched:
            delivery = found.get(ticket.id)
            state = delivery.text if delivery is not None else "nothing sent to the service desk"
            out.write(f"{ticket.number}: nothing dead-lettered to requeue; {state}.\n")
    if report.count:
        out.write(
            f"Requeued {_plural(report.count, 'delivery', 'deliveries')} of "
            f"{_plural(len(report.data), 'ticket', 'tickets')}; the worker sends them next.\n"
        )
    elif args.all_dead:
        out.write("Nothing is dead-lettered.\n")
    return EXIT_OK


def render_requeued(line: RequeuedPublic) -> str:
    """One ticket's requeue as a line: what was requeued (why and after how many tries it had died),
    and how many follow-ups now go after it."""
    what = ", ".join(
        f"{m.topic} (was {m.last_error or 'failed'} after {_plural(m.attempts, 'try', 'tries')})"
        for m in line.requeued
    )
    text = f"{line.number or '(no ticket)'}: requeued {what}"
    if line.follow_ups:
        text += f"; {_plural(line.follow_ups, 'follow-up', 'follow-ups')} will go after it"
    return text + "."


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def delivery_label(row: TicketPublic) -> str:
    """A ticket's service-desk delivery in a dozen characters, for the list's SERVICE DESK column:
    the desk's id once delivered, ``RETRYING 7`` (tries so far), ``DEAD +3 held``..."""
    d = row.delivery
    if d is None:
        return "-"
    held = f" +{d.follow_ups_held} held" if d.follow_ups_held else ""
    if d.state == "delivered":
        label = d.desk_id or "delivered"
        return label + (f" +{d.follow_ups_dead} dead" if d.follow_ups_dead else "")
    if d.state == "dead":
        return "DEAD" + held
    if d.state == "retrying":
        return f"retrying {d.attempts}{held}"
    if d.state == "not_forwarded":
        return "not forwarded"
    return d.state.value + held


def render_list(rows: list[TicketPublic]) -> str:
    """Tickets as a terminal table (number, status, priority, people, system, assignee, service-desk
    delivery, summary); a footer counts the tickets the service desk has not got."""
    if not rows:
        return "No tickets.\n"
    lines = [
        f"{'NUMBER':<10} {'STATUS':<8} {'PRIORITY':<9} {'PEOPLE':>6}  {'SYSTEM':<22} {'ASSIGNEE':<14} "
        f"{'SERVICE DESK':<20} SUMMARY"
    ]
    for r in rows:
        lines.append(
            f"{r.number:<10} {r.status.value:<8} {r.priority_label:<9} {r.affected_count:>6}  "
            f"{(r.system or '-')[:22]:<22} {(r.assignee or '-')[:14]:<14} "
            f"{delivery_label(r)[:20]:<20} {r.summary}"
        )
    dead = [r for r in rows if r.delivery is not None and r.delivery.state == "dead"]
    if dead:
        held = sum(r.delivery.follow_ups_held for r in dead if r.delivery is not None)
        lines += [
            "",
            f"{_plural(len(dead), 'ticket', 'tickets')} dead-lettered at the service desk, "
            f"{_plural(held, 'follow-up', 'follow-ups')} held behind {'it' if len(dead) == 1 else 'them'}.",
            "Fix the cause, then `itbot tickets retry NUMBER ...` or `itbot tickets retry --all-dead`.",
        ]
    return "\n".join(lines) + "\n"


def render_detail(detail: TicketDetailPublic) -> str:
    """One ticket as terminal text: facts, reporters, history, transcript."""
    from bot.tickets.models import waiting_label
    from bot.tickets.transcripts import transcript_text

    facts = [
        f"{detail.number}  {detail.status.value}  priority {detail.priority} ({detail.priority_label})",
        f"Summary:   {detail.summary}",
        f"System:    {detail.system or '-'} ({detail.category or '-'})",
        f"Location:  {detail.location or '-'}",
        f"Device:    {detail.device or '-'}",
        f"Patient waiting: {waiting_label(detail.patient_waiting)}",
        f"Assignee:  {detail.assignee or '-'}",
        f"Opened:    {detail.created_at:%Y-%m-%d %H:%M} UTC via {detail.channel}",
        f"Requester: {detail.requester or '-'}",
        f"People:    {detail.affected_count}",
        f"Service desk: {detail.delivery.text if detail.delivery is not None else '-'}",
    ]
    if detail.delivery is not None and detail.delivery.state == "dead":
        facts.append(
            f"              `itbot tickets retry {detail.number}` sends it again (fix the cause first)."
        )
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

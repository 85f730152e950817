"""``itbot notice ...`` and ``itbot systems ...``: IT posts outage and upgrade notices from a terminal.

* ``itbot notice create --kind outage|upgrade --title T --systems "A,B" --body B`` (plus ``--sites``,
  ``--impact degraded|down``, ``--next-update``, and for upgrades ``--starts``/``--ends``,
  ``--changes`` (what changes for staff), ``--downtime-article`` (the id of the downtime-procedure
  article in the knowledge folder, checked to exist)) prints the new notice's id alone on its last
  line (a contract);
* ``itbot notice update ID [--status S] [--body B] [--next-update T] [--starts T --ends T]
  [--changes C] [--downtime-article ID]``;
* ``itbot notice resolve ID [--body B]``: an outage is resolved, an upgrade completed;
* ``itbot notice list [--json] [--open]``: newest first; ``--json`` is an array of notices (a contract);
* ``itbot notice show ID [--json]``: the notice and its updates, how many acknowledged an upgrade
  ("Got it") and the channels it was posted in;
* ``itbot notice channels add|list|remove|route``: which chat channels get which notices
  (``bot.channels.cli.notice_channels``);
* ``itbot systems list [--json]`` and ``itbot systems add NAME [--aliases "a,b"]``.

Times are ISO 8601 (without a zone: UTC) or relative (``+30m``, ``2h``). Bad input (an unknown
system, with the closest known one suggested; a status the notice cannot move to; a window in the
past) is one clear line on stderr, exit code 1, and nothing written. Exit 2: the database cannot be
reached. The registry is seeded from the knowledge folder the first time it is needed.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.config import Settings
    from bot.notices.models import NoticePublic

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SETUP = 2
# The enums' values, spelled here so that building the parser loads no database layer.
KINDS = ("outage", "upgrade")
STATUSES = (
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "scheduled",
    "in_progress",
    "completed",
    "postponed",
    "cancelled",
)
TIME_HELP = "ISO 8601 (UTC unless a zone is given) or relative: +30m, 2h"


# The flag that sets the input a notice error is about (``NoticeError.field``).
FLAGS = {"title": "--title", "systems": '--systems "Epic,Citrix"', "window": "--starts and --ends"}


def add_parser(sub: Any) -> None:
    """Register ``itbot notice ...`` and ``itbot systems ...`` on the CLI's subparsers."""
    p_notice = sub.add_parser("notice", help="post, update and resolve outage and upgrade notices")
    notice = p_notice.add_subparsers(dest="notice_command", required=True)
    p_create = notice.add_parser("create", help="post a notice; prints its id on the last line")
    p_create.add_argument("--kind", choices=KINDS, required=True)
    p_create.add_argument("--title", required=True)
    p_create.add_argument("--systems", required=True, help='comma-separated, e.g. "Epic,Citrix Workspace"')
    p_create.add_argument("--body", default="", help="what staff should know and do")
    p_create.add_argument(
        "--sites", default="", help='sites or units affected, e.g. "4 West,ICU" (default all)'
    )
    p_create.add_argument("--impact", choices=("degraded", "down"), default="degraded", help="outages")
    p_create.add_argument("--next-update", help=f"when IT will post next ({TIME_HELP})")
    p_create.add_argument("--starts", help=f"upgrades: the window's start ({TIME_HELP})")
    p_create.add_argument("--ends", help=f"upgrades: the window's end ({TIME_HELP})")
    p_create.add_argument("--changes", default="", help="upgrades: what changes for staff")
    p_create.add_argument(
        "--downtime-article",
        "--procedure",
        dest="procedure",
        default="",
        help="the downtime procedure's article id, e.g. downtime/ehr-downtime-procedures",
    )
    p_create.add_argument("--as", dest="author", default="", help="your name")
    p_update = notice.add_parser("update", help="post an update: status, words, next update, window")
    p_update.add_argument("id")
    p_update.add_argument("--status", choices=STATUSES)
    p_update.add_argument("--body", default="")
    p_update.add_argument("--next-update", help=TIME_HELP)
    p_update.add_argument("--starts", help=TIME_HELP)
    p_update.add_argument("--ends", help=TIME_HELP)
    p_update.add_argument("--changes", help="upgrades: what changes for staff (replaces it)")
    p_update.add_argument(
        "--downtime-article", "--procedure", dest="procedure", help="the downtime procedure's article id"
    )
    p_update.add_argument("--as", dest="author", default="")
    p_resolve = notice.add_parser("resolve", help="end the notice (outage resolved, upgrade completed)")
    p_resolve.add_argument("id")
    p_resolve.add_argument("--body", default="", help="what was done")
    p_resolve.add_argument("--as", dest="author", default="")
    p_list = notice.add_parser("list", help="the notices, newest first")
    p_list.add_argument("--json", action="store_true", help="print a JSON array of notices")
    p_list.add_argument("--open", action="store_true", help="only notices that have not ended")
    p_show = notice.add_parser("show", help="one notice and its updates")
    p_show.add_argument("id")
    p_show.add_argument("--json", action="store_true")
    from bot.channels.cli.notice_channels import add_channels_parser

    add_channels_parser(notice)

    p_systems = sub.add_parser("systems", help="the systems registry notices name")
    systems = p_systems.add_subparsers(dest="systems_command", required=True)
    p_slist = systems.add_parser("list", help="every system, its aliases and its state")
    p_slist.add_argument("--json", action="store_true")
    p_add = systems.add_parser("add", help="add a system, or aliases to one")
    p_add.add_argument("name")
    p_add.add_argument("--aliases", default="", help='comma-separated, e.g. "emr,hyperspace"')


def run(settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Do one ``itbot notice`` or ``itbot systems`` command; returns the exit code."""
    from sqlalchemy import Engine
    from sqlalchemy.exc import SQLAlchemyError

    from bot.core.errors import ItbotError
    from bot.db import create_db_engine, init_db, session_factory

    name = f"itbot {args.command}"
    engine: Engine | None = None
    try:
        engine = create_db_engine(settings)
        init_db(settings, engine=engine)
        with session_factory(engine)() as session:
            try:
                code = _dispatch(settings, args, session, out)
            except BaseException:
                session.rollback()
                raise
            session.commit()
            return code
    except ItbotError as exc:
        flag = FLAGS.get(getattr(exc, "field", ""), "")
        said = exc.user_message
        if flag:
            said = f"{said.removesuffix('.')} ({flag})."
        print(f"{name}: {said}", file=err)
        return EXIT_FAILED
    except (SQLAlchemyError, OSError) as exc:
        print(f"{name}: can't reach the database ({type(exc).__name__}); check DATABASE_URL.", file=err)
        return EXIT_SETUP
    finally:
        if engine is not None:
            engine.dispose()


def _dispatch(settings: Settings, args: argparse.Namespace, session: Session, out: TextIO) -> int:
    from bot.interactions.models import utcnow
    from bot.notices.registry import ensure_seeded

    ensure_seeded(session=session, kb=settings.kb)
    now = utcnow()
    if args.command == "systems":
        return _systems(args, session, out, now)
    return _notice(settings, args, session, out, now)


def _notice(settings: Settings, args: argparse.Namespace, session: Session, out: TextIO, now: Any) -> int:
    from bot.notices.acks import with_acks
    from bot.notices.actions import NewNotice, notice_public, open_notice, resolve_notice, update_notice
    from bot.notices.errors import NoticeNotFoundError
    from bot.notices.models import Impact, NoticeKind, NoticeStatus
    from bot.notices.queries import get_notice, list_notices, list_updates
    from bot.notices.registry import parse_list
    from bot.notices.ticket_links import with_reports
    from bot.notices.times import optional_time

    command = args.notice_command
    if command == "channels":
        from bot.channels.cli.notice_channels import run_channels

        return run_channels(args, session, out)
    if command == "create":
        notice = open_notice(
            session=session,
            new=NewNotice(
                kind=NoticeKind(args.kind),
                title=args.title,
                systems=parse_list(args.systems),
                body=args.body,
                sites=parse_list(args.sites),
                impact=Impact(args.impact),
                next_update_at=optional_time(args.next_update, now),
                starts_at=optional_time(args.starts, now),
                ends_at=optional_time(args.ends, now),
                staff_changes=args.changes,
                procedure_article=args.procedure,
                author=args.author,
            ),
            now=now,
            kb=settings.kb,
        )
        print(
            f"Posted {notice.kind.value} notice {notice.id} ({notice.status.value}): {notice.title}", file=out
        )
        print(notice.id, file=out)
        return EXIT_OK
    if command == "list":
        rows = list_notices(session=session, open_only=args.open)
        updates = list_updates(session=session, notice_ids=[r.id for r in rows if r.id is not None])
        public = with_reports(session=session, shown=[notice_public(r, now, updates) for r in rows])
        with_acks(session=session, shown=public)
        if args.json:
            out.write(json.dumps([p.model_dump(mode="json") for p in public], ensure_ascii=False) + "\n")
        else:
            out.write(render_list(public))
        return EXIT_OK
    notice_id = _notice_id(args.id)
    if command == "show":
        found = get_notice(session=session, notice_id=notice_id)
        if found is None:
            raise NoticeNotFoundError(args.id)
        shown = notice_public(found, now, list_updates(session=session, notice_ids=[notice_id]))
        [shown] = with_reports(session=session, shown=[shown])
        with_acks(session=session, shown=[shown])
        if args.json:
            out.write(json.dumps(shown.model_dump(mode="json"), ensure_ascii=False) + "\n")
        else:
            out.write(render_detail(shown))
        return EXIT_OK
    if command == "update":
        notice = update_notice(
            session=session,
            notice_id=notice_id,
            now=now,
            status=NoticeStatus(args.status) if args.status else None,
            body=args.body,
            next_update_at=optional_time(args.next_update, now),
            starts_at=optional_time(args.starts, now),
            ends_at=optional_time(args.ends, now),
            staff_changes=args.changes,
            procedure_article=args.procedure,
            kb=settings.kb,
            author=args.author,
        )
        print(f"Notice {notice.id} is {notice.status.value}.", file=out)
        return EXIT_OK
    if command == "resolve":
        notice = resolve_notice(
            session=session, notice_id=notice_id, now=now, body=args.body, author=args.author
        )
        print(f"Notice {notice.id} is {notice.status.value}.", file=out)
        return EXIT_OK
    return EXIT_FAILED


def _notice_id(text: str) -> int:
    from bot.notices.errors import NoticeNotFoundError

    digits = text.strip().lstrip("#")
    if not digits.isdigit() or len(digits) > 12:
        raise NoticeNotFoundError(text)
    return int(digits)


def _systems(args: argparse.Namespace, session: Session, out: TextIO, now: Any) -> int:
    from bot.notices.actions import add_registry_system
    from bot.notices.lifecycle import system_states
    from bot.notices.queries import list_notices, list_systems
    from bot.notices.registry import parse_list

    if args.systems_command == "add":
        row = add_registry_system(session=session, name=args.name, aliases=parse_list(args.aliases))
        print(f"{row.name}: {', '.join(row.aliases) or '(no aliases)'}", file=out)
        return EXIT_OK
    systems = list_systems(session=session)
    states = system_states([s.name for s in systems], list_notices(session=session, open_only=True), now)
    if args.json:
        rows = [{"name": s.name, "aliases": s.aliases, "state": states[s.name].value} for s in systems]
        out.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return EXIT_OK
    width = max((len(s.name) for s in systems), default=6)
    lines = [f"{'SYSTEM':<{width}}  {'STATE':<14} ALIASES"]
    lines += [f"{s.name:<{width}}  {states[s.name].value:<14} {', '.join(s.aliases)}" for s in systems]
    out.write("\n".join(lines) + "\n")
    return EXIT_OK


def render_list(rows: list[NoticePublic]) -> str:
    """Notices as a terminal table: id, kind, status, systems, next update or window, title."""
    if not rows:
        return "No notices.\n"
    lines = [f"{'ID':>5}  {'KIND':<8} {'STATUS':<13} {'SYSTEMS':<24} {'WHEN':<17} TITLE"]
    for r in rows:
        when = r.starts if r.kind == "upgrade" else r.next_update
        lines.append(
            f"{r.id:>5}  {r.kind:<8} {r.status:<13} {', '.join(r.systems)[:24]:<24} "
            f"{f'{when:%Y-%m-%d %H:%M}' if when else '-':<17} {r.title}"
        )
    return "\n".join(lines) + "\n"


def render_detail(notice: NoticePublic) -> str:
    """One notice as terminal text: facts, then its updates oldest first."""
    lines = [
        f"Notice {notice.id}  {notice.kind}  {notice.status}{'  (active)' if notice.active else ''}",
        f"Title:    {notice.title}",
        f"Systems:  {', '.join(notice.systems)}",
        f"Sites:    {', '.join(notice.sites) or 'all'}",
    ]
    if notice.kind == "upgrade":
        lines.append(
            f"Window:   {notice.starts:%Y-%m-%d %H:%M} to {notice.ends:%Y-%m-%d %H:%M} UTC"
            if notice.starts and notice.ends
            else "Window:   -"
        )
        lines.append(f"Changes:  {notice.staff_changes or '-'}")
    if notice.procedure_article:
        lines.append(f"Downtime procedure: {notice.procedure_article}")
    else:
        lines.append(f"Impact:   {notice.impact}")
    lines.append(f"Next update: {f'{notice.next_update:%Y-%m-%d %H:%M} UTC' if notice.next_update else '-'}")
    if notice.tickets:
        lines.append(f"Reports:  {notice.reports} (tickets {', '.join(notice.tickets)})")
    if notice.kind == "upgrade":
        lines.append(f"Got it:   {notice.acknowledged} {'person' if notice.acknowledged == 1 else 'people'}")
    lines.append(f"Posted in: {', '.join(notice.posted_in) or '-'}")
    lines += ["", notice.body, "", "Updates:"]
    lines += [
        f"  {u.at:%Y-%m-%d %H:%M} {u.status}{' by ' + u.author if u.author else ''}: {u.body}"
        for u in notice.updates
    ]
    return "\n".join(lines) + "\n"

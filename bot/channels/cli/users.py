"""``itbot users``: the IT console's accounts — add, list, set-role, disable, enable.

A password is never an argument (it would sit in the shell's history and the process list): ``add``
and ``set-password`` read it from a prompt on a terminal (asked twice), or from the first line of
standard input otherwise. Every change is written to the audit log as done by ``cli`` from
``local``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.config import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SETUP = 2
ROLES = ("viewer", "curator", "agent", "admin")
ACTOR = "cli"
ADDRESS = "local"


def add_parser(sub: Any) -> None:
    """Register ``itbot users`` and its commands on the CLI's subparsers."""
    p_users = sub.add_parser("users", help="IT console accounts: add, list, set-role, disable")
    users = p_users.add_subparsers(dest="users_command", required=True)
    p_add = users.add_parser("add", help="add an account (password from a prompt or the first stdin line)")
    p_add.add_argument("name")
    p_add.add_argument("--role", required=True, choices=ROLES)
    p_list = users.add_parser("list", help="list the accounts")
    p_list.add_argument("--json", action="store_true", help="print a JSON array")
    p_role = users.add_parser("set-role", help="change an account's role")
    p_role.add_argument("name")
    p_role.add_argument("role", choices=ROLES)
    p_disable = users.add_parser("disable", help="disable an account and end its sessions")
    p_disable.add_argument("name")
    p_enable = users.add_parser("enable", help="enable a disabled account again (and lift a lock)")
    p_enable.add_argument("name")
    p_password = users.add_parser("set-password", help="set a new password (prompt or first stdin line)")
    p_password.add_argument("name")


def read_password(stdin: TextIO, err: TextIO) -> str | None:
    """The new password: asked twice on a terminal (None when the two differ), else stdin's first line."""
    if stdin.isatty():
        first = getpass.getpass("Password: ", stream=err)
        second = getpass.getpass("Password again: ", stream=err)
        return first if first == second else None
    return stdin.readline().rstrip("\r\n")


def run(
    settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO | None = None
) -> int:
    """Do one ``itbot users`` command; returns the exit code."""
    from sqlalchemy import Engine
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db import create_db_engine, init_db, session_factory

    engine: Engine | None = None
    try:
        engine = create_db_engine(settings)
        init_db(settings, engine=engine)
        with session_factory(engine)() as session:
            return _dispatch(session, args, out, err, stdin if stdin is not None else sys.stdin)
    except SQLAlchemyError as exc:
        print(f"itbot users: can't reach the database ({type(exc).__name__}); check DATABASE_URL.", file=err)
        return EXIT_SETUP
    finally:
        if engine is not None:
            engine.dispose()


def _dispatch(session: Session, args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    from sqlalchemy.exc import IntegrityError

    from bot.console.passwords import hash_password, password_problem
    from bot.console.queries import create_user, get_user_by_name, list_users, record_event, update_user
    from bot.console.roles import Role

    command = args.users_command
    if command == "list":
        users = list_users(session=session)
        if args.json:
            rows = [{"name": u.name, "role": u.role.value, "disabled": u.disabled} for u in users]
            out.write(json.dumps(rows) + "\n")
        for row in [] if args.json else users:
            print(f"{row.name}\t{row.role.value}\t{'disabled' if row.disabled else 'active'}", file=out)
        return EXIT_OK
    if command == "add":
        password = read_password(stdin, err)
        problem = "the two passwords differ" if password is None else password_problem(password)
        if problem is not None or password is None:
            print(f"itbot users: {problem}; no account added.", file=err)
            return EXIT_FAILED
        try:
            added = create_user(
                session=session, name=args.name, role=Role(args.role), password_hash=hash_password(password)
            )
        except IntegrityError:
            session.rollback()
            print(f"itbot users: an account named {args.name!r} exists already.", file=err)
            return EXIT_FAILED
        record_event(
            session=session,
            actor=ACTOR,
            action="user_added",
            target=added.name,
            detail=f"role {added.role.value}",
            address=ADDRESS,
        )
        print(f"Added {added.name} ({added.role.value}).", file=out)
        return EXIT_OK
    user = get_user_by_name(session=session, name=args.name)
    if user is None:
        print(f"itbot users: no account named {args.name!r}.", file=err)
        return EXIT_FAILED
    if command == "set-role":
        update_user(session=session, user=user, role=Role(args.role))
        record_event(
            session=session,
            actor=ACTOR,
            action="user_role_set",
            target=user.name,
            detail=f"role {args.role}",
            address=ADDRESS,
        )
        print(f"{user.name} is now {args.role}.", file=out)
    elif command == "disable":
        update_user(session=session, user=user, disabled=True)
        record_event(session=session, actor=ACTOR, action="user_disabled", target=user.name, address=ADDRESS)
        print(f"{user.name} is disabled; its sessions have ended.", file=out)
    elif command == "enable":
        update_user(session=session, user=user, disabled=False, clear_lock=True)
        record_event(session=session, actor=ACTOR, action="user_enabled", target=user.name, address=ADDRESS)
        print(f"{user.name} is enabled.", file=out)
    elif command == "set-password":
        password = read_password(stdin, err)
        problem = "the two passwords differ" if password is None else password_problem(password)
        if problem is not None or password is None:
            print(f"itbot users: {problem}; password unchanged.", file=err)
            return EXIT_FAILED
        update_user(session=session, user=user, password_hash=hash_password(password), clear_lock=True)
        record_event(
            session=session, actor=ACTOR, action="user_password_set", target=user.name, address=ADDRESS
        )
        print(f"{user.name}'s password is changed.", file=out)
    return EXIT_OK

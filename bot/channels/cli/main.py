"""The ``itbot`` command: index, ask, scrub, serve, worker, tickets, notice, systems.

The terminal is a channel like any other: parse the arguments, call the core, render the reply.
Exit codes: 0 done, 1 a request failed, 2 set-up needed (no index, no knowledge folder).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.channels.cli import index as cli_index
from bot.channels.cli import notices as cli_notices
from bot.channels.cli import run as cli_run
from bot.channels.cli import slack as cli_slack
from bot.channels.cli import teams as cli_teams
from bot.channels.cli import tickets as cli_tickets
from bot.channels.cli import users as cli_users
from bot.logging_setup import configure_logging

# Each command imports what it needs when it runs: `itbot index` must start in a fraction of a
# second, so nothing here loads pydantic, the core or the retrieval stack.
if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core.assistant import Assistant
    from bot.core.models import Question, Reply

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SETUP = 2


def render_text(reply: Reply) -> str:
    """A reply as plain terminal text: the decision, the Markdown text, the citations."""
    lines = [f"[{reply.decision.value}]", reply.text]
    if reply.citations:
        lines.append("")
        lines.append("Sources:")
        lines += [f"  - {c.title} › {c.section} ({c.article}, score {c.score:.2f})" for c in reply.citations]
    return "\n".join(lines)


def _load_assistant(settings: Settings, err: TextIO) -> Assistant | None:
    from bot.core.assistant import Assistant

    assistant = Assistant(settings)
    assistant.refresh()
    if not assistant.ready:
        print(f"itbot: {assistant.load_error}", file=err)
        return None
    return assistant


def cmd_ask(settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    """Print what the bot would reply; with ``-`` read one question a line and answer each in order.

    A question about an active outage or upgrade notice gets the notice (``outage``); nothing is
    written and nobody is subscribed."""
    assistant = _load_assistant(settings, err)
    if assistant is None:
        return EXIT_SETUP
    with contextlib.ExitStack() as stack:
        outage = _outage_lookup(settings, stack)
        return _ask_each(assistant, outage, args, out, err, stdin)


def _ask_each(
    assistant: Assistant,
    outage: Callable[[Question], Reply | None],
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    stdin: TextIO,
) -> int:
    from bot.core.errors import IndexNotReadyError
    from bot.core.models import Question

    if args.text == ["-"]:
        questions: Sequence[str] = (line.rstrip("\n") for line in stdin)  # type: ignore[assignment]
    else:
        questions = [" ".join(args.text)]
    status = EXIT_OK
    for text in questions:
        question = Question(text=text, channel="cli")
        try:
            reply = outage(question) or assistant.ask(question)
        except IndexNotReadyError as exc:
            print(f"itbot: {exc}", file=err)
            return EXIT_SETUP
        if args.json:
            out.write(json.dumps(reply.to_json(), ensure_ascii=False) + "\n")
            out.flush()
        else:
            print(render_text(reply), file=out)
    return status


def _outage_lookup(settings: Settings, stack: contextlib.ExitStack) -> Callable[[Question], Reply | None]:
    """The outage check ``itbot ask`` runs before the assistant: reads the active notices, writes
    nothing (no migration, no SQLite file made where there is none), and answers None for every
    question when there is no database to read."""
    from sqlalchemy.engine import make_url

    from bot.db import create_db_engine, session_factory
    from bot.notices.answers import outage_reply

    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() == "sqlite" and (not url.database or not Path(url.database).exists()):
        return lambda _question: None
    engine = create_db_engine(settings)
    stack.callback(engine.dispose)
    session = stack.enter_context(session_factory(engine)())
    return lambda question: outage_reply(session, question, kb=settings.kb)


def cmd_scrub(
    _settings: Settings, _args: argparse.Namespace, out: TextIO, _err: TextIO, stdin: TextIO
) -> int:
    """Print each standard-input line as itbot would store or forward it."""
    from bot.core.scrub import scrub_text

    for line in stdin:
        out.write(scrub_text(line.rstrip("\n")) + "\n")
    out.flush()
    return EXIT_OK


def threads_per_worker(workers: int, cores: int, configured: int | None) -> int | None:
    """The encoder threads each of ``workers`` server processes should use on ``cores`` cores:
    ``configured`` (``ITBOT_ENCODER_THREADS``) when set; None (every core) for one process;
    otherwise an equal share of the cores, at least one, so the processes do not take turns on
    the same cores for every question's embedding."""
    if configured is not None or workers <= 1:
        return configured
    return max(1, cores // workers)


def cmd_serve(settings: Settings, args: argparse.Namespace, _out: TextIO, err: TextIO) -> int:
    """Run the HTTP server (web chat, API, Slack events) with uvicorn.

    A database that cannot be reached at start-up (the schema is migrated first) is one line on
    ``err`` and exit code 1, not a traceback. With ``--workers N`` (N > 1) uvicorn runs N server
    processes on the one port, each with the app built from the environment and its own copy of the
    index; the schema is migrated once, here, before any of them starts, and each embeds questions
    with its share of the cores unless ``ITBOT_ENCODER_THREADS`` is set (``threads_per_worker``).
    """
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db import init_db, unreachable_message
    from bot.main import create_app

    workers = max(1, args.workers)
    try:
        if workers > 1:
            init_db(settings)
        else:
            app = create_app(settings, server=True)
    except SQLAlchemyError as exc:
        print(f"itbot serve: {unreachable_message(settings, exc)}", file=err)
        return EXIT_FAILED
    # No proxy headers here: the app reads X-Forwarded-For itself, and only from ITBOT_TRUSTED_PROXIES.
    if workers > 1:
        from indexer.encoder import available_cores

        share = threads_per_worker(workers, available_cores(), settings.encoder_threads)
        os.environ["ITBOT_ENCODER_THREADS"] = str(share)  # read by each worker's settings
        os.environ["ITBOT_SERVE_WORKERS"] = str(workers)
        uvicorn.run(
            "bot.main:create_app",
            factory=True,
            workers=workers,
            host=args.host,
            port=args.port,
            log_config=None,
            access_log=False,
            proxy_headers=False,
        )
    else:
        uvicorn.run(
            app, host=args.host, port=args.port, log_config=None, access_log=False, proxy_headers=False
        )
    return EXIT_OK


def cmd_worker(settings: Settings, args: argparse.Namespace, _out: TextIO, err: TextIO) -> int:
    """Deliver the outbox (tickets to the service desk, messages to chat) until stopped.

    A database that cannot be reached at start-up is one line on ``err`` and exit code 1 (an outage
    after a good start is waited out); tables not made yet are waited for.
    """
    import threading

    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from bot.channels.senders import chat_senders, notice_senders
    from bot.db import create_db_engine, session_factory, unreachable_message
    from bot.notices.dispatcher import NoticeDispatcher
    from bot.notices.planning import DeliverySchedule
    from bot.notices.ticket_links import outage_lookup
    from bot.tickets.itsm import ItsmConfigError
    from bot.tickets.worker import run_worker

    try:
        schedule = DeliverySchedule.from_settings(settings)
    except (ValueError, KeyError) as exc:
        print(f"itbot worker: bad notice delivery setting: {exc}", file=err)
        return EXIT_SETUP
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        stop = threading.Event()
        notices = NoticeDispatcher(
            settings,
            open_session=session_factory(engine),
            senders=notice_senders(settings, sessions=session_factory(engine)),
            stop=stop,
            schedule=schedule,
        )
        passes = [notices.run_once]
        if settings.teams_enabled:
            from bot.channels.teams.pruning import TeamsPruner

            passes.append(TeamsPruner(settings, open_session=session_factory(engine)).run_once)
        run_worker(
            settings,
            senders=chat_senders(settings),
            once=args.once,
            engine=engine,
            stop=stop,
            passes=passes,
            outage_lookup=outage_lookup(settings.kb),
        )
    except ItsmConfigError as exc:
        print(f"itbot worker: {exc}", file=err)
        return EXIT_SETUP
    except SQLAlchemyError as exc:
        print(f"itbot worker: {unreachable_message(settings, exc)}", file=err)
        return EXIT_FAILED
    finally:
        engine.dispose()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every ``itbot`` command."""
    parser = argparse.ArgumentParser(prog="itbot", description="itbot: the hospital IT assistant.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more (never message text)")
    sub = parser.add_subparsers(dest="command", required=True)
    cli_index.add_parser(sub)
    p_ask = sub.add_parser("ask", help="print what the bot would reply (opens no ticket, sends nothing)")
    p_ask.add_argument("--json", action="store_true", help="print the reply as JSON (one object a line)")
    p_ask.add_argument("text", nargs="+", help="the question, or - to read one question a line from stdin")
    sub.add_parser("scrub", help="print each stdin line with patient identifiers replaced")
    p_serve = sub.add_parser("serve", help="start the HTTP server (web chat, API, Slack events)")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000)
    p_serve.add_argument(
        "--workers", type=int, default=1, help="server processes on the port (each loads the index)"
    )
    p_worker = sub.add_parser("worker", help="deliver the outbox: tickets to the service desk, chat messages")
    p_worker.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    cli_run.add_parser(sub)
    cli_slack.add_parser(sub)
    cli_teams.add_parser(sub)
    cli_tickets.add_parser(sub)
    cli_notices.add_parser(sub)
    cli_users.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``itbot`` console script; returns the exit code."""
    try:
        return _run(argv)
    except BrokenPipeError:
        # The reader went away (e.g. `itbot ask ... | head`): not an error worth a traceback.
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    # A server logs its events (ids, decisions, timings; never text) at INFO; commands stay quiet.
    configure_logging(verbose=args.verbose or args.command in ("serve", "worker"))
    out, err = sys.stdout, sys.stderr
    if args.command == "run":
        return cli_run.run(args, out, err)
    if args.command == "index":
        code = cli_index.run(cli_index.IndexSettings.from_environment(), args, out, err)
        if argv is None:  # the console script: the process ends as soon as this returns
            _quick_shutdown()
        return code
    from bot.config import Settings

    settings = Settings()
    if args.command == "ask":
        return cmd_ask(settings, args, out, err, sys.stdin)
    if args.command == "scrub":
        return cmd_scrub(settings, args, out, err, sys.stdin)
    if args.command == "serve":
        return cmd_serve(settings, args, out, err)
    if args.command == "worker":
        return cmd_worker(settings, args, out, err)
    if args.command == "slack":
        return cli_slack.run(settings, args, out, err)
    if args.command == "teams":
        return cli_teams.run(settings, args, out, err)
    if args.command == "tickets":
        return cli_tickets.run(settings, args, out, err)
    if args.command in ("notice", "systems"):
        return cli_notices.run(settings, args, out, err)
    if args.command == "users":
        return cli_users.run(settings, args, out, err, sys.stdin)
    return EXIT_FAILED


def _quick_shutdown() -> None:
    """Spare the interpreter's shutdown from walking every object (numpy, ONNX Runtime and the
    build leave some hundred thousand) in its final garbage collections: about 0.05 s of a
    re-index. What the command wrote is closed by then; the operating system frees the rest."""
    gc.freeze()


if __name__ == "__main__":
    sys.exit(main())

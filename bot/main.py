"""The HTTP application: ``create_app(settings)`` builds it; nothing is built at import.

Run it with ``uvicorn bot.main:create_app --factory`` (settings then come from the environment).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from bot import heap
from bot.channels.slack import http as slack_http
from bot.channels.web import alerts_api, notices_api, status_page, tickets_api
from bot.channels.web import notices as web_notices
from bot.channels.web import routes as web
from bot.config import Settings
from bot.console.app import add_console
from bot.conversations.memory import RecentConversations
from bot.core.assistant_like import AssistantLike
from bot.core.name_lists import name_lists
from bot.db import SessionFactory, create_db_engine, database_health, init_db, session_factory
from bot.http_guards import (
    DEFAULT_MAX_BODY_BYTES,
    BodySizeLimit,
    RelativeRedirects,
    SafeErrors,
    SecurityHeaders,
)
from bot.interactions.recording import BackgroundRecorder, log_failure
from bot.request_guards import WebLimits
from bot.tickets.spool import pending_files

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.channels.slack.app import SlackRuntime
    from bot.channels.teams.http import TeamsRuntime

log = logging.getLogger(__name__)


def _build_assistant(settings: Settings) -> AssistantLike:
    from bot.core.assistant import Assistant

    return Assistant(settings)


async def poll_index(assistant: AssistantLike, every_seconds: float) -> None:
    """Forever: ask the assistant to swap in a newer index, every ``every_seconds``.

    Runs ``refresh`` in a worker thread (loading an index reads files); a failing refresh is logged
    and tried again on the next tick, so a bad build never stops the polling.
    """
    while True:
        try:
            if await asyncio.to_thread(assistant.refresh):
                heap.settle()
                log.info("event=index_swapped")
        except Exception as exc:  # keep polling whatever one refresh did
            log_failure(log, "index_refresh_failed", exc)
        await asyncio.sleep(every_seconds)


def _build_slack(
    settings: Settings, core: AssistantLike, sessions: SessionFactory, client: WebClient | None
) -> SlackRuntime | None:
    if not settings.slack_enabled:
        return None
    from bot.channels.slack.app import build_slack_app

    return build_slack_app(settings, assistant=core, sessions=sessions, client=client)


def _build_teams(settings: Settings, core: AssistantLike, sessions: SessionFactory) -> TeamsRuntime | None:
    if not settings.teams_enabled:
        return None
    from bot.channels.teams.http import build_teams_app

    return build_teams_app(settings, assistant=core, sessions=sessions)


def create_app(
    settings: Settings | None = None,
    *,
    assistant: AssistantLike | None = None,
    slack_client: WebClient | None = None,
    server: bool | None = None,
) -> FastAPI:
    """The itbot HTTP app: web chat, ``/api/ask``, ``/api/feedback``, ``/kb/...``, ``/healthz``, and
    ``/slack/events`` when ``SLACK_BOT_TOKEN`` and ``SLACK_SIGNING_SECRET`` are set, and ``/api/messages``
    (Microsoft Teams) when ``TEAMS_APP_ID`` is set.

    Builds ``Settings`` from the environment when none are given, migrates the database to the
    newest schema, builds the assistant unless one is injected (and the Slack client likewise), and
    keeps the index fresh in the background while the app runs. ``server`` (by default: when the
    settings come from the environment, as ``uvicorn --factory`` builds it) marks the process as a
    server whose long-lived objects are frozen out of the garbage collector's walks (``bot.heap``).
    """
    if server if server is not None else settings is None:
        heap.enable()  # a server process: see bot.heap (tests building apps leave theirs alone)
    settings = settings if settings is not None else Settings()
    engine = create_db_engine(settings)
    init_db(settings, engine=engine)
    core = assistant if assistant is not None else _build_assistant(settings)
    sessions = session_factory(engine)
    # The recorder writes through a connection of its own: a request holding one of the pool's
    # connections while it waits for its interaction's row must not starve the writer of one.
    recorder_engine = create_db_engine(settings, pool_size=1)
    recorder = BackgroundRecorder(
        session_factory(recorder_engine), wait_seconds=settings.db_record_wait_seconds
    )
    slack = _build_slack(settings, core, sessions, slack_client)
    teams = _build_teams(settings, core, sessions)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The scrubber's name lists take a couple of seconds to read: before the first message, not in it.
        await asyncio.to_thread(name_lists)
        heap.settle()
        poller = asyncio.create_task(poll_index(core, settings.index_poll_seconds))
        try:
            yield
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            if slack is not None:
                await asyncio.to_thread(slack.close)
            if teams is not None:
                await teams.close()
            await asyncio.to_thread(recorder.close)
            recorder_engine.dispose()
            engine.dispose()

    # The API's description is served only when asked for; no trailing-slash redirects (Starlette
    # builds them from the Host header), and any other redirect is made relative.
    app = FastAPI(
        title="itbot",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if settings.api_docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.api_docs else None,
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.web_limits = WebLimits.from_settings(settings)
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.assistant = core
    app.state.slack = slack
    app.state.teams = teams
    app.state.conversation_memory = RecentConversations()
    app.state.recorder = recorder
    app.state.recorder_engine = recorder_engine
    # Added last runs first: headers on every answer, errors caught, redirects made relative, the Host
    # checked (when ITBOT_ALLOWED_HOSTS is set), then the body limit.
    app.add_middleware(BodySizeLimit, max_bytes=DEFAULT_MAX_BODY_BYTES)
    if settings.allowed_host_list:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_host_list))
    app.add_middleware(RelativeRedirects)
    app.add_middleware(SafeErrors)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=web.WEB_DIR / "static"), name="static")
    app.include_router(web.router)
    app.include_router(slack_http.router)
    if teams is not None:
        from bot.channels.teams import http as teams_http

        app.include_router(teams_http.router)
    app.include_router(tickets_api.router)
    app.include_router(notices_api.router)
    app.include_router(alerts_api.router)
    app.include_router(status_page.router)
    app.include_router(web_notices.router)
    add_console(app, settings)

    health = database_health(engine)

    @app.get("/healthz")
    def healthz() -> Response:
        """200 with an index summary once an index is loaded (answering works); 503 before.

        ``database`` is "ok" or "unreachable" (asked with a short timeout, the answer reused for a few
        seconds); ``status`` is "ok", or "degraded" with ``degraded`` naming the parts that are not
        (the database; escalations waiting in the spool: ``spooled``).
        """
        if not core.ready:
            return JSONResponse({"status": "starting", "index": None}, status_code=503)
        database = health.check(engine)
        spooled = len(pending_files(settings))
        degraded = [part for part, bad in (("database", database != "ok"), ("spool", spooled > 0)) if bad]
        body: dict[str, object] = {
            "status": "degraded" if degraded else "ok",
            "index": dict(core.manifest_summary),
            "database": database,
            "spooled": spooled,
        }
        if degraded:
            body["degraded"] = degraded
        return JSONResponse(body)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, _exc: RequestValidationError) -> Response:
        return JSONResponse({"error": "invalid_request", "message": "That request is not valid."}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and "text/html" in request.headers.get("accept", ""):
            return web.templates.TemplateResponse(request, "not_found.html", {}, status_code=404)
        return JSONResponse({"error": "http_error", "message": str(exc.detail)}, exc.status_code)

    return app

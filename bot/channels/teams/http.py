"""``POST /api/messages``: Teams' activities, checked, claimed once, answered after a fast 200.

In order (nothing is written or sent before step 4):

1. the bearer token is checked (``bot.channels.teams.auth``): a missing, forged, expired or
   wrong-audience token, a key id the OpenID metadata does not list, a ``serviceurl`` claim that is
   not the activity's, or metadata that cannot be fetched is a 401 with a fixed body. The SDK
   raises many types for these (PyJWT's errors, ``PermissionError``, ``IndexError``, plain
   ``Exception``): all are caught here, the type logged, never the token or the text. An unknown
   key id first has the keys fetched again (at most every five minutes), for Microsoft's rotations;
2. the activity's ``serviceUrl`` must start with one of ``ITBOT_TEAMS_SERVICE_URLS``; otherwise 403
   and nothing is sent anywhere;
3. the request is answered 200 at once (an ``adaptiveCard/action`` invoke gets the invoke response
   Teams expects): the answer never decides what Teams is told, so it waits for nothing;
4. in a background task, the activity is claimed by conversation and activity id in the database
   (``teams_activity``): Teams redelivers when it does not hear back in time, and a redelivery, in
   this process or another sharing the database, is dropped there. With the database down, or not
   answering within ``CLAIM_WAIT_SECONDS``, the claim is taken as granted (answering twice beats not
   answering); a claim merely slowed by a busy server is waited for, so it never answers twice;
5. the claimed activity's answer is computed and posted, after those of the activities of the same
   conversation that arrived before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult, BotFrameworkAuthentication
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.teams.activities import CARD_ACTION_INVOKE
from bot.channels.teams.auth import (
    ClientCredentialsFactory,
    KeyRefresh,
    build_authentication,
    service_url_allowed,
)
from bot.channels.teams.bot import TeamsBot
from bot.channels.teams.clients import ReusedConnectors, ReusingAuthentication
from bot.channels.teams.queries import claim_activity
from bot.config import Settings
from bot.core.assistant_like import AssistantLike
from bot.db import SessionFactory
from bot.interactions.recording import log_failure

log = logging.getLogger(__name__)
router = APIRouter()

CLOSE_WAIT_SECONDS = 10.0
CLAIM_THREADS = 4
# A claim normally takes milliseconds, and a busy server may take a second or more. One the database
# does not confirm in this time (it hangs) is taken as granted: answering twice beats not answering.
CLAIM_WAIT_SECONDS = 10.0
UNAUTHORIZED = {"error": "unauthorized", "message": "The request's token could not be verified."}
INVOKE_ACCEPTED = {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": "OK"}


@dataclass
class TeamsRuntime:
    """The SDK adapter, its authentication, our turn handler, and the answers being written."""

    settings: Settings
    sessions: SessionFactory
    authentication: BotFrameworkAuthentication
    adapter: CloudAdapter
    bot: TeamsBot
    connectors: ReusedConnectors | None = None
    keys: KeyRefresh | None = None
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    # The newest turn of each conversation: the next one waits for it, so a person's messages are
    # read in the order they were sent.
    latest: dict[str, asyncio.Task[Any]] = field(default_factory=dict)
    # Claims have threads of their own: queued behind answers being computed, they would hold up
    # every answer behind them.
    claims: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(
            max_workers=CLAIM_THREADS, thread_name_prefix="teams-claim"
        )
    )

    async def claim_soon(self, conversation_id: str, activity_id: str) -> bool:
        """``claim`` on the claim threads; True also when the database does not answer in time."""
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self.claims, self.claim, conversation_id, activity_id),
                CLAIM_WAIT_SECONDS,
            )
        except TimeoutError:
            log.warning("event=teams_claim_slow activity=%s", activity_id or "-")
            return True

    async def authenticate(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        """The SDK's check of the token; a key id the cached keys lack has them fetched again
        (``KeyRefresh``, rate-limited) and the token checked once more. Raises what the SDK raises."""
        try:
            return await self.authentication.authenticate_request(activity, auth_header)
        except IndexError:  # the SDK's lookup of a key id it does not hold
            if self.keys is None or not self.keys.due():
                raise
        return await self.authentication.authenticate_request(activity, auth_header)

    def claim(self, conversation_id: str, activity_id: str) -> bool:
        """Claim the activity; True for the first delivery (also when the database fails)."""
        if not activity_id:
            return True
        try:
            with self.sessions() as session:
                return claim_activity(
                    session=session, conversation_id=conversation_id, activity_id=activity_id
                )
        except SQLAlchemyError as exc:
            log_failure(log, "teams_claim_failed", exc, activity=activity_id)
            return True

    def start(
        self, authenticated: AuthenticateRequestResult, activity: Activity, raw: dict[str, Any]
    ) -> None:
        """Claim ``activity`` and, for its first delivery, run its turn (``raw``: its JSON as
        received), in the background, after the turns of its conversation that came before it."""
        conversation_id = str(getattr(activity.conversation, "id", "") or "")
        before = self.latest.get(conversation_id)
        task = asyncio.create_task(self._turn(authenticated, activity, raw, conversation_id, before))
        self.latest[conversation_id] = task
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(functools.partial(self._forget, conversation_id))

    def _forget(self, conversation_id: str, task: asyncio.Task[Any]) -> None:
        if self.latest.get(conversation_id) is task:
            del self.latest[conversation_id]

    async def _turn(
        self,
        authenticated: AuthenticateRequestResult,
        activity: Activity,
        raw: dict[str, Any],
        conversation_id: str,
        before: asyncio.Task[Any] | None,
    ) -> None:
        async def logic(context: TurnContext) -> None:
            await self.bot.on_turn(context, raw)

        if before is not None:
            await asyncio.wait([before])  # its outcome is its own; this turn only comes after it
        if not await self.claim_soon(conversation_id, str(activity.id or "")):
            log.info("event=teams_duplicate activity=%s", activity.id or "-")
            return
        try:
            await self.adapter.process_activity(authenticated, activity, logic)
        except Exception as exc:  # the turn's own errors are caught in the bot; this is the SDK's
            log_failure(log, "teams_turn_failed", exc, activity=activity.id or "-")

    async def close(self) -> None:
        """Let the answers being written finish (for a while), then stop."""
        if self.tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*self.tasks, return_exceptions=True), CLOSE_WAIT_SECONDS
                )
        if self.connectors is not None:
            await self.connectors.close()


def build_teams_app(
    settings: Settings, *, assistant: AssistantLike, sessions: SessionFactory
) -> TeamsRuntime:
    """The Teams runtime on explicit settings: nothing read from the environment."""
    credentials = ClientCredentialsFactory.from_settings(settings)
    connectors = ReusedConnectors(credentials)
    authentication = ReusingAuthentication(build_authentication(settings, credentials), connectors)
    adapter = CloudAdapter(authentication)
    adapter.on_turn_error = _on_turn_error
    return TeamsRuntime(
        settings=settings,
        sessions=sessions,
        authentication=authentication,
        adapter=adapter,
        bot=TeamsBot(settings, assistant, sessions),
        connectors=connectors,
        keys=KeyRefresh(settings.teams_openid_metadata_url),
    )


async def _on_turn_error(_context: TurnContext, error: Exception) -> None:
    log_failure(log, "teams_turn_failed", error)


@router.post("/api/messages", include_in_schema=False)
async def messages(request: Request) -> Response:
    """Check and acknowledge a Teams activity; it is claimed and answered in the background."""
    runtime: TeamsRuntime | None = getattr(request.app.state, "teams", None)
    if runtime is None:
        return JSONResponse({"error": "teams_off", "message": "Teams is not configured on this server."}, 404)
    auth_header = request.headers.get("authorization")
    if not auth_header:
        log.warning("event=teams_request_refused reason=no_token")
        return JSONResponse(UNAUTHORIZED, 401)
    try:
        body = json.loads(await request.body())
        if not isinstance(body, dict):
            raise ValueError("not an object")
        activity = Activity().deserialize(body)
    except (ValueError, TypeError, AttributeError, RecursionError, UnicodeDecodeError) as exc:
        log.warning("event=teams_request_malformed error=%s", type(exc).__name__)
        return JSONResponse({"error": "invalid_request", "message": "That request is not valid."}, 400)
    try:
        authenticated = await runtime.authenticate(activity, auth_header)
    except Exception as exc:  # PyJWT errors, PermissionError, IndexError (unknown key id), Exception
        log.warning("event=teams_request_refused reason=%s", type(exc).__name__)
        return JSONResponse(UNAUTHORIZED, 401)
    if not service_url_allowed(activity.service_url, runtime.settings.teams_service_url_list):
        log.warning("event=teams_service_url_refused activity=%s", activity.id or "-")
        return JSONResponse({"error": "forbidden", "message": "That service URL is not allowed."}, 403)
    runtime.start(authenticated, activity, body)
    return _accepted(activity, runtime.settings)


def _accepted(activity: Activity, settings: Settings) -> Response:
    # Several processes on one port: closing the connection lets the next activity be accepted by
    # whichever process is free; kept alive, a busy process would keep getting them all.
    headers = {"Connection": "close"} if settings.serve_workers > 1 else None
    if activity.type == "invoke" and activity.name == CARD_ACTION_INVOKE:
        return JSONResponse(INVOKE_ACCEPTED, 200, headers=headers)
    return Response(status_code=200, headers=headers)

"""``POST /slack/events``: Slack's HTTP deliveries (events, button clicks, slash commands).

Every request's signature and timestamp are checked here, before bolt sees it: a forged signature,
a timestamp more than five minutes off, or a missing or malformed header gets 401 and changes nothing
(bolt alone answers some malformed headers with 500). A checked request is dispatched to the bolt app
in a worker thread; bolt acknowledges at once and answers after the acknowledgement.

A signed body bolt could not read (not UTF-8, invalid JSON, JSON that is not an object or nests past
``slack_events.MAX_BODY_DEPTH``, a form whose ``payload`` is not such JSON, fields of another type
than Slack sends) is a 400, logged as ``event=slack_request_malformed problem=<kind>``, and
dispatches nothing.
"""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from slack_bolt.request import BoltRequest
from starlette.concurrency import run_in_threadpool

from bot.channels.slack.app import SlackRuntime
from bot.channels.slack.events import body_problem, check_signature

log = logging.getLogger(__name__)
router = APIRouter()


@router.post("/slack/events", include_in_schema=False)
async def slack_events(request: Request) -> Response:
    """Check the request is from Slack, then hand it to the bolt app; 404 when Slack is not configured."""
    runtime: SlackRuntime | None = getattr(request.app.state, "slack", None)
    if runtime is None:
        return JSONResponse({"error": "slack_off", "message": "Slack is not configured on this server."}, 404)
    body = await request.body()
    refused = check_signature(
        secret=runtime.handlers.settings.slack_signing_secret or "",
        body=body,
        timestamp=request.headers.get("x-slack-request-timestamp"),
        signature=request.headers.get("x-slack-signature"),
        now=time.time(),
    )
    if refused is not None:
        log.warning("event=slack_request_refused reason=%s", refused)
        return JSONResponse(
            {"error": "unauthorized", "message": "Request signature could not be verified."}, 401
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _malformed("not_utf8")
    problem = body_problem(text, request.headers.get("content-type"))
    if problem is not None:
        return _malformed(problem)
    try:
        bolt_request = BoltRequest(body=text, query=request.url.query, headers=dict(request.headers.items()))
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        # Bolt reads a few fields while building the request (authorizations, team, enterprise); one of
        # another type than Slack sends fails there. The exception's text may quote the body.
        return _malformed("unreadable", error=type(exc).__name__)
    bolt_response = await run_in_threadpool(runtime.app.dispatch, bolt_request)
    headers = {k: v[0] for k, v in bolt_response.headers.items() if v and k.lower() != "content-length"}
    return Response(content=bolt_response.body, status_code=bolt_response.status, headers=headers)


def _malformed(problem: str, *, error: str = "") -> Response:
    """400 for a signed body that is not a Slack payload; the log names the problem, never the body."""
    if error:
        log.warning("event=slack_request_malformed problem=%s error=%s", problem, error)
    else:
        log.warning("event=slack_request_malformed problem=%s", problem)
    return JSONResponse({"error": "invalid_body", "message": "The body is not a Slack payload."}, 400)

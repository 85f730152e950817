"""``GET /console/gaps`` (viewer): the questions the bot could not settle, grouped by topic."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from bot.console.auth import ConsoleRoute, ViewerDep
from bot.console.gap_cache import group_or_alone
from bot.console.gaps import Asked
from bot.console.pages import page
from bot.console.roles import Role
from bot.deps import AssistantDep, SessionDep, SettingsDep
from bot.interactions.models import Feedback, utcnow
from bot.interactions.queries import list_unanswered

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
MAX_QUESTIONS = 500


@router.get("/console/gaps")
async def gaps_page(
    request: Request,
    signed: ViewerDep,
    session: SessionDep,
    assistant: AssistantDep,
    settings: SettingsDep,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> Response:
    """Escalated, offered-choices and "Still stuck" questions of the last ``days`` days (scrubbed, at
    most the newest 500), grouped by topic with the index's encoder, most people first; each group
    with example questions and, for curators, a button that opens a new draft on it."""
    rows = list_unanswered(session=session, since=utcnow() - timedelta(days=days), limit=MAX_QUESTIONS)
    asked = [
        Asked(
            text=r.question,
            who=r.user_id,
            outcome="stuck" if r.feedback == Feedback.UNHELPFUL else r.decision,
        )
        for r in reversed(rows)  # oldest first: groups form in the order questions came
        if r.question.strip()
    ]
    state, threshold = request.app.state, settings.console_gap_similarity
    gaps = await run_in_threadpool(lambda: group_or_alone(state, assistant, asked, threshold=threshold))
    context = {"gaps": gaps, "days": days, "total": len(asked), "may_write": signed.role.allows(Role.CURATOR)}
    return page(request, "gaps.html", signed, context)

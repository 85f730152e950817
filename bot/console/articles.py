"""The console's knowledge pages: the article list, the editor, its preview, and "try a question".

``GET /console/articles`` (viewer) lists and searches; ``GET /console/articles/{id}`` (viewer) shows
the editor; ``POST /console/articles/{id}`` (curator) checks, saves, audits and re-indexes, then
shows the editor again with a box that asks the live assistant; ``POST /console/preview`` (curator,
JSON) renders Markdown as the web chat does (raw HTML escaped); ``POST /console/try`` (curator)
asks the assistant a question, read-only: nothing is recorded and no ticket is opened.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bot.channels.web.markdown import render_markdown
from bot.console.analytics_queries import article_use
from bot.console.auth import ConsoleRoute, CuratorDep, Signed, ViewerDep
from bot.console.drafts import start_draft
from bot.console.knowledge import (
    FIELDS,
    Draft,
    OutsideKnowledge,
    Stale,
    article_path,
    article_rows,
    check_text,
    new_article,
    ordered_rows,
    read_draft,
    save_text,
    saving,
)
from bot.console.pages import page
from bot.console.queries import record_event
from bot.console.reindex import reindex
from bot.console.roles import Role
from bot.core.errors import ItbotError
from bot.core.models import Question, Reply
from bot.deps import AssistantDep, SessionDep, SettingsDep
from bot.interactions.recording import log_failure
from indexer.articles import ArticleError, KnowledgeFolderError

log = logging.getLogger(__name__)
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
CHANNEL = "console"
MAX_BODY_CHARS = 60_000
SAVE_LOCK = "console-save.lock"  # in ITBOT_HOME, not in the knowledge folder (often a git checkout)


class PreviewInput(BaseModel):
    """The preview endpoint's body."""

    markdown: str = Field(default="", max_length=MAX_BODY_CHARS)


@router.get("/console/articles")
def articles_page(
    request: Request, signed: ViewerDep, settings: SettingsDep, session: SessionDep, q: str = ""
) -> Response:
    """Every article with owner, systems, review date, use and "That fixed it" rate; flagged first."""
    try:
        use = article_use(session=session, memo=request.app.state.analytics_memo)
        memo = request.app.state.console_article_memo
        rows, problems = article_rows(settings.kb, today=dt.date.today(), use=use, memo=memo)
    except KnowledgeFolderError as error:
        rows, problems = [], []
        log.warning("event=console_no_knowledge reason=%s", type(error).__name__)
    shown = ordered_rows(rows, owner=signed.name, query=q[:200])
    return page(request, "articles.html", signed, {"rows": shown, "problems": problems, "q": q[:200]})


def _editor(
    request: Request, signed: Signed, article_id: str, draft: Draft, base: str, **extra: Any
) -> Response:
    context: dict[str, Any] = {
        "article_id": article_id,
        "draft": draft,
        "fields": FIELDS,
        "base": base,
        "may_edit": signed.role.allows(Role.CURATOR),
        "review": request.app.state.settings.console_article_review,
        "problem": None,
        "stale": None,
        "saved": None,
        "tried": None,
        "question": "",
        "asked": [],
    }
    status = int(extra.pop("status_code", 200))
    context.update(extra)
    return page(request, "edit.html", signed, context, status_code=status)


def _not_here(request: Request, signed: Signed, reason: str) -> Response:
    return page(request, "refused.html", signed, {"reason": reason}, status_code=404)


@router.get("/console/articles/{article_id:path}")
def edit_page(
    request: Request,
    article_id: str,
    signed: ViewerDep,
    settings: SettingsDep,
    title: str = "",
    asked: Annotated[list[str] | None, Query(max_length=5)] = None,
) -> Response:
    """The editor for one article; when the file does not exist yet, a new draft titled ``title``,
    shown beside the questions staff ``asked`` (from the gaps page)."""
    try:
        path = article_path(settings.kb, article_id)
        if path.exists():
            draft, base = read_draft(path, settings.kb, max_bytes=settings.max_article_bytes)
        else:
            draft, base = new_article(title), ""
    except (OutsideKnowledge, ArticleError) as error:
        return _not_here(request, signed, f"No article can be edited there: {error}")
    return _editor(request, signed, article_id, draft, base, asked=[a[:300] for a in asked or []])


@router.post("/console/articles/{article_id:path}")
async def save_article(
    request: Request,
    article_id: str,
    signed: CuratorDep,
    settings: SettingsDep,
    session: SessionDep,
    assistant: AssistantDep,
    base: Annotated[str, Form(max_length=64)] = "",
    body: Annotated[str, Form(max_length=MAX_BODY_CHARS)] = "",
    title: Annotated[str, Form(max_length=300)] = "",
    description: Annotated[str, Form(max_length=1000)] = "",
    tags: Annotated[str, Form(max_length=1000)] = "",
    systems: Annotated[str, Form(max_length=1000)] = "",
    audience: Annotated[str, Form(max_length=1000)] = "",
    owner: Annotated[str, Form(max_length=200)] = "",
    review_by: Annotated[str, Form(max_length=40)] = "",
    asked: Annotated[list[str] | None, Form(max_length=5)] = None,
) -> Response:
    """Check the edit as the indexer would (problems shown with their line, nothing written). With
    review on (``ITBOT_CONSOLE_ARTICLE_REVIEW``, the default) store it as a draft and open it; else
    refuse a stale one (the file changed since the form was opened: a diff, nothing written), or write
    the file, audit the save and re-index; the editor then offers to try a question."""
    values = {
        "title": title,
        "description": description,
        "tags": tags,
        "systems": systems,
        "audience": audience,
        "owner": owner,
        "review_by": review_by,
    }
    try:
        path = article_path(settings.kb, article_id)
        old_draft = (
            read_draft(path, settings.kb, max_bytes=settings.max_article_bytes)[0] if path.exists() else None
        )
    except (OutsideKnowledge, ArticleError) as error:
        record_event(
            session=session,
            actor=signed.name,
            action="article_refused",
            target=article_id[:512],
            detail="outside the knowledge folder",
            address=signed.address,
        )
        return _not_here(request, signed, f"No article can be saved there: {error}")
    draft = Draft(fields=values, body=body, other=old_draft.other if old_draft is not None else {})
    text = draft.text()
    problem = check_text(path, settings.kb, text)
    if problem is not None:
        shown = {
            "line": problem.line,
            "message": problem.message,
            "body_line": problem.line - draft.front_lines if problem.line > draft.front_lines else None,
        }
        return _editor(request, signed, article_id, draft, base, problem=shown, status_code=422)
    if settings.console_article_review:  # kept as a draft until someone else publishes it
        stored = start_draft(
            session=session,
            signed=signed,
            article_id=article_id,
            text=text,
            base=base,
            asked=[a[:300] for a in asked or []],
        )
        return RedirectResponse(f"/console/drafts/{stored.id}", status_code=303)
    try:
        with saving(settings.home / SAVE_LOCK):
            result = save_text(
                path, settings.kb, text, base_digest=base, max_bytes=settings.max_article_bytes
            )
    except OutsideKnowledge as error:
        return _not_here(request, signed, f"No article can be saved there: {error}")
    if isinstance(result, Stale):
        record_event(
            session=session,
            actor=signed.name,
            action="article_stale",
            target=article_id,
            address=signed.address,
        )
        return _editor(request, signed, article_id, draft, base, stale=result, status_code=409)
    record_event(
        session=session,
        actor=signed.name,
        action="article_saved",
        target=article_id,
        detail=f"sha256 {base or 'new'} -> {result}",
        address=signed.address,
    )
    try:
        done = await run_in_threadpool(reindex, settings, assistant)
    except Exception as exc:  # the file is saved; the curator must learn the index is not
        log_failure(log, "console_reindex_failed", exc)
        return _editor(request, signed, article_id, draft, result, saved={"failed": True}, status_code=500)
    saved = {"problems": done.problems, "swapped": done.swapped, "seconds": done.seconds, "failed": False}
    return _editor(request, signed, article_id, draft, result, saved=saved)


@router.post("/console/preview")
async def preview(data: PreviewInput, _signed: CuratorDep) -> Response:
    """``{"html": ...}``: the Markdown rendered as staff would see it (raw HTML escaped)."""
    return JSONResponse({"html": render_markdown(data.markdown)}, headers={"cache-control": "no-store"})


def _tried(reply: Reply) -> dict[str, Any]:
    return {
        "decision": reply.decision.value,
        "html": render_markdown(reply.text),
        "citations": [c.to_json() for c in reply.citations],
    }


@router.post("/console/try")
async def try_question(
    request: Request,
    signed: CuratorDep,
    settings: SettingsDep,
    assistant: AssistantDep,
    article_id: Annotated[str, Form(max_length=200)] = "",
    question: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Ask the live assistant ``question`` (nothing recorded) and show its decision and citations
    beside the article ``article_id``."""
    try:
        asked = await run_in_threadpool(
            assistant.ask, Question(text=question, channel=CHANNEL, user=signed.name)
        )
        tried = _tried(asked)
    except ItbotError as error:
        log.warning("event=console_try_failed code=%s", error.code)
        tried = {"decision": "error", "html": render_markdown(error.user_message), "citations": []}
    try:
        path = article_path(settings.kb, article_id)
        draft, base = read_draft(path, settings.kb, max_bytes=settings.max_article_bytes)
    except (OutsideKnowledge, ArticleError) as error:
        return _not_here(request, signed, f"No article there: {error}")
    return _editor(request, signed, article_id, draft, base, tried=tried, question=question)

"""The console's review of articles: drafts kept in the database until a second person publishes them.

``GET /console/drafts`` (viewer) lists drafts; ``GET /console/drafts/{id}`` (viewer) shows one: its
rendered preview, its diff against the article's file now, the author's edit form and the reviewer's
buttons. ``POST /console/drafts/from-gap`` (curator) starts a draft from a group of unanswered
questions; ``POST /console/drafts/{id}`` (its author) edits it; ``POST /console/drafts/{id}/publish``
and ``.../return`` (a curator or more who is not its author) publish it (only then is the file
written, confined to the knowledge folder, and re-indexed) or send it back with a comment. That an
author never publishes their own draft is checked here, on the server. Every step is audited.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from bot.channels.web.markdown import render_markdown
from bot.config import Settings
from bot.console.auth import ConsoleRoute, CuratorDep, Signed, ViewerDep
from bot.console.draft_queries import (
    claim_for_publishing,
    create_draft,
    get_draft,
    list_drafts,
    reopen_draft,
    return_draft,
    update_draft_text,
)
from bot.console.knowledge import (
    FIELDS,
    Draft,
    OutsideKnowledge,
    Stale,
    article_path,
    check_text,
    digest,
    draft_from_text,
    new_article,
    save_text,
    saving,
    text_diff,
)
from bot.console.models import ArticleDraft, DraftStatus
from bot.console.pages import page
from bot.console.queries import record_event
from bot.console.reindex import reindex
from bot.console.roles import Role
from bot.deps import AssistantDep, SessionDep, SettingsDep
from bot.interactions.recording import log_failure
from indexer.articles import ArticleError, read_source

log = logging.getLogger(__name__)
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
SAVE_LOCK = "console-save.lock"  # the editor's lock: a publish and a direct save never interleave
MAX_BODY_CHARS = 60_000
Field = Annotated[str, Form(max_length=1000)]


def _refused(request: Request, signed: Signed, reason: str, status_code: int) -> Response:
    return page(request, "refused.html", signed, {"reason": reason}, status_code=status_code)


def _current_text(settings: Settings, article_id: str) -> tuple[str, str]:
    """The article's file now (text, digest), or ("", "") when it does not exist; `OutsideKnowledge`
    or `ArticleError` for an id or a file outside the knowledge folder."""
    path = article_path(settings.kb, article_id)
    if not path.exists():
        return "", ""
    raw = read_source(path, settings.kb, max_bytes=settings.max_article_bytes)
    return raw.decode("utf-8", errors="replace"), digest(raw)


def start_draft(
    *,
    session: Session,
    signed: Signed,
    article_id: str,
    text: str,
    base: str,
    asked: list[str],
) -> ArticleDraft:
    """Store ``text`` as a new draft of ``article_id`` by the signed-in curator, and audit it."""
    draft = create_draft(
        session=session, article_id=article_id, author=signed.name, text=text, base=base, asked=asked
    )
    record_event(
        session=session,
        actor=signed.name,
        action="draft_saved",
        target=article_id,
        detail=f"draft {draft.id}; base {base or 'new'}",
        address=signed.address,
    )
    return draft


def _view(
    request: Request, signed: Signed, settings: Settings, draft: ArticleDraft, **extra: Any
) -> Response:
    shown = draft_from_text(draft.text)
    try:
        current, digest_now = _current_text(settings, draft.article_id)
    except (OutsideKnowledge, ArticleError):
        current, digest_now = "", ""
    reviewer = signed.role.allows(Role.CURATOR) and signed.name != draft.author
    context: dict[str, Any] = {
        "draft": draft,
        "shown": shown,
        "fields": FIELDS,
        "html": render_markdown(shown.body),
        "diff": text_diff(current, draft.text, before_name="the article now", after_name="this draft"),
        "changed_since": digest_now != draft.base,
        "asked": [a for a in draft.asked.split("\n") if a],
        "may_edit": signed.name == draft.author and draft.status is not DraftStatus.PUBLISHED,
        "may_review": reviewer and draft.status is DraftStatus.REVIEW,
        "problem": None,
        "stale": None,
        "saved": None,
    }
    status = int(extra.pop("status_code", 200))
    context.update(extra)
    return page(request, "draft.html", signed, context, status_code=status)


@router.get("/console/drafts")
def drafts_page(request: Request, signed: ViewerDep, session: SessionDep) -> Response:
    """Every draft, the most recently changed first: those waiting for review, sent back, published."""
    rows = [(d, draft_from_text(d.text).fields.get("title", "")) for d in list_drafts(session=session)]
    return page(request, "drafts.html", signed, {"rows": rows})


@router.post("/console/drafts/from-gap")
def draft_from_gap(
    request: Request,
    signed: CuratorDep,
    settings: SettingsDep,
    session: SessionDep,
    article_id: Annotated[str, Form(max_length=200)] = "",
    title: Annotated[str, Form(max_length=300)] = "",
    asked: Annotated[list[str] | None, Form(max_length=5)] = None,
) -> Response:
    """Start a draft for a group of unanswered questions, titled with their wording (on an existing
    article: its file as it is now), and open it."""
    try:
        current, base = _current_text(settings, article_id)
    except (OutsideKnowledge, ArticleError) as error:
        return _refused(request, signed, f"No article can be drafted there: {error}", 404)
    text = current or new_article(title).text()
    draft = start_draft(
        session=session,
        signed=signed,
        article_id=article_id,
        text=text,
        base=base,
        asked=[a[:300] for a in asked or []],
    )
    return RedirectResponse(f"/console/drafts/{draft.id}", status_code=303)


@router.get("/console/drafts/{draft_id}")
def draft_page(
    request: Request, draft_id: int, signed: ViewerDep, settings: SettingsDep, session: SessionDep
) -> Response:
    """One draft: preview, diff against the article now, and what the reader may do with it."""
    draft = get_draft(session=session, draft_id=draft_id)
    if draft is None:
        return _refused(request, signed, "There is no such draft.", 404)
    return _view(request, signed, settings, draft)


@router.post("/console/drafts/{draft_id}")
def edit_draft(
    request: Request,
    draft_id: int,
    signed: CuratorDep,
    settings: SettingsDep,
    session: SessionDep,
    body: Annotated[str, Form(max_length=MAX_BODY_CHARS)] = "",
    title: Field = "",
    description: Field = "",
    tags: Field = "",
    systems: Field = "",
    audience: Field = "",
    owner: Annotated[str, Form(max_length=200)] = "",
    review_by: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The author's edit of their draft: checked as the indexer would, then waiting for review again."""
    draft = get_draft(session=session, draft_id=draft_id)
    if draft is None:
        return _refused(request, signed, "There is no such draft.", 404)
    if signed.name != draft.author or draft.status is DraftStatus.PUBLISHED:
        return _refused(request, signed, "Only its author may change a draft that is not published.", 403)
    values = {
        "title": title,
        "description": description,
        "tags": tags,
        "systems": systems,
        "audience": audience,
        "owner": owner,
        "review_by": review_by,
    }
    edited = Draft(fields=values, body=body, other=draft_from_text(draft.text).other)
    text = edited.text()
    path = article_path(settings.kb, draft.article_id)
    problem = check_text(path, settings.kb, text)
    if problem is not None:
        shown = {"line": problem.line, "message": problem.message}
        return _view(request, signed, settings, draft, shown=edited, problem=shown, status_code=422)
    update_draft_text(session=session, draft=draft, text=text)
    record_event(
        session=session,
        actor=signed.name,
        action="draft_updated",
        target=draft.article_id,
        detail=f"draft {draft.id}",
        address=signed.address,
    )
    return RedirectResponse(f"/console/drafts/{draft.id}", status_code=303)


def _reviewable(request: Request, signed: Signed, draft: ArticleDraft | None) -> Response | None:
    if draft is None:
        return _refused(request, signed, "There is no such draft.", 404)
    if signed.name == draft.author:
        return _refused(request, signed, "A draft is published by someone other than its author.", 403)
    if draft.status is not DraftStatus.REVIEW:
        return _refused(request, signed, f"This draft is {draft.status.value}, not waiting for review.", 409)
    return None


@router.post("/console/drafts/{draft_id}/return")
def send_back(
    request: Request,
    draft_id: int,
    signed: CuratorDep,
    settings: SettingsDep,
    session: SessionDep,
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Send the draft back to its author with ``comment`` (required)."""
    draft = get_draft(session=session, draft_id=draft_id)
    refused = _reviewable(request, signed, draft)
    if refused is not None or draft is None:
        return refused or _refused(request, signed, "There is no such draft.", 404)
    if not comment.strip():
        return _view(request, signed, settings, draft, problem={"line": 0, "message": "Say what to change."})
    if not return_draft(session=session, draft_id=draft_id, reviewer=signed.name, comment=comment.strip()):
        return _refused(request, signed, "This draft is no longer waiting for review.", 409)
    record_event(
        session=session,
        actor=signed.name,
        action="draft_returned",
        target=draft.article_id,
        detail=f"draft {draft_id} to {draft.author}",
        address=signed.address,
    )
    return RedirectResponse(f"/console/drafts/{draft_id}", status_code=303)


@router.post("/console/drafts/{draft_id}/publish")
async def publish(
    request: Request,
    draft_id: int,
    signed: CuratorDep,
    settings: SettingsDep,
    session: SessionDep,
    assistant: AssistantDep,
) -> Response:
    """Write the draft's file (only if the article did not change since the draft was started: else a
    diff and nothing written), mark it published, audit and re-index."""
    draft = get_draft(session=session, draft_id=draft_id)
    refused = _reviewable(request, signed, draft)
    if refused is not None or draft is None:
        return refused or _refused(request, signed, "There is no such draft.", 404)
    try:
        path = article_path(settings.kb, draft.article_id)
    except OutsideKnowledge as error:
        return _refused(request, signed, f"No article can be published there: {error}", 404)
    problem = check_text(path, settings.kb, draft.text)
    if problem is not None:
        shown = {"line": problem.line, "message": problem.message}
        return _view(request, signed, settings, draft, problem=shown, status_code=422)

    def write() -> Stale | str | None:
        with saving(settings.home / SAVE_LOCK):
            if not claim_for_publishing(session=session, draft_id=draft_id, reviewer=signed.name):
                return None
            try:
                result = save_text(
                    path,
                    settings.kb,
                    draft.text,
                    base_digest=draft.base,
                    max_bytes=settings.max_article_bytes,
                )
            except BaseException:
                reopen_draft(session=session, draft_id=draft_id)
                raise
            if isinstance(result, Stale):
                reopen_draft(session=session, draft_id=draft_id)
            return result

    try:
        result = await run_in_threadpool(write)
    except OutsideKnowledge as error:
        return _refused(request, signed, f"No article can be published there: {error}", 404)
    if result is None:
        return _refused(request, signed, "This draft is no longer waiting for review.", 409)
    session.refresh(draft)
    if isinstance(result, Stale):
        record_event(
            session=session,
            actor=signed.name,
            action="draft_stale",
            target=draft.article_id,
            detail=f"draft {draft_id}",
            address=signed.address,
        )
        return _view(request, signed, settings, draft, stale=result, status_code=409)
    record_event(
        session=session,
        actor=signed.name,
        action="draft_published",
        target=draft.article_id,
        detail=f"draft {draft_id} by {draft.author}; sha256 {draft.base or 'new'} -> {result}",
        address=signed.address,
    )
    try:
        done = await run_in_threadpool(reindex, settings, assistant)
    except Exception as exc:  # the file is written; the reviewer must learn the index is not
        log_failure(log, "console_reindex_failed", exc)
        return _view(request, signed, settings, draft, saved={"failed": True}, status_code=500)
    saved = {"failed": False, "seconds": done.seconds, "problems": done.problems}
    return _view(request, signed, settings, draft, saved=saved)

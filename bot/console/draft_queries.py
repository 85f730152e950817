"""Every statement about article drafts; keyword-only. Writes commit.

A draft moves review -> published, or review -> returned -> (edited by its author) review. Claiming
a draft for publishing is one conditional UPDATE (``status = 'review'``), so two reviewers, in one
process or two, cannot both publish it.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.console.models import ArticleDraft, DraftStatus
from bot.interactions.models import utcnow

LIST_LIMIT = 200


def create_draft(
    *, session: Session, article_id: str, author: str, text: str, base: str, asked: list[str]
) -> ArticleDraft:
    """Store a new draft of ``article_id`` by ``author``, waiting for review."""
    draft = ArticleDraft(
        article_id=article_id,
        author=author,
        text=text,
        base=base,
        asked="\n".join(" ".join(a.split()) for a in asked if a.strip()),
    )
    session.add(draft)
    session.commit()
    session.refresh(draft)
    return draft


def get_draft(*, session: Session, draft_id: int) -> ArticleDraft | None:
    """The draft with this id, or None."""
    return session.get(ArticleDraft, draft_id)


def list_drafts(*, session: Session, limit: int = LIST_LIMIT) -> list[ArticleDraft]:
    """Drafts, the most recently changed first (at most ``limit``)."""
    statement = (
        select(ArticleDraft)
        .order_by(col(ArticleDraft.updated_at).desc(), col(ArticleDraft.id).desc())
        .limit(limit)
    )
    return list(session.exec(statement).all())


def update_draft_text(*, session: Session, draft: ArticleDraft, text: str) -> ArticleDraft:
    """Replace the draft's file text; it waits for review again (a reviewer's comment is kept)."""
    draft.text = text
    draft.status = DraftStatus.REVIEW
    draft.updated_at = utcnow()
    session.add(draft)
    session.commit()
    session.refresh(draft)
    return draft


def return_draft(*, session: Session, draft_id: int, reviewer: str, comment: str) -> bool:
    """Send a draft under review back to its author with ``comment``; False when it is not under review."""
    return _move(
        session=session,
        draft_id=draft_id,
        to=DraftStatus.RETURNED,
        values={"reviewer": reviewer, "comment": comment},
    )


def claim_for_publishing(*, session: Session, draft_id: int, reviewer: str) -> bool:
    """Mark a draft under review published by ``reviewer``; False when it is not under review (already
    published, or sent back)."""
    return _move(session=session, draft_id=draft_id, to=DraftStatus.PUBLISHED, values={"reviewer": reviewer})


def reopen_draft(*, session: Session, draft_id: int) -> None:
    """Put a claimed draft back under review (its file could not be written)."""
    session.execute(
        update(ArticleDraft).where(col(ArticleDraft.id) == draft_id).values(status=DraftStatus.REVIEW)
    )
    session.commit()


def _move(*, session: Session, draft_id: int, to: DraftStatus, values: dict[str, str]) -> bool:
    result = session.execute(
        update(ArticleDraft)
        .where(col(ArticleDraft.id) == draft_id)
        .where(col(ArticleDraft.status) == DraftStatus.REVIEW)
        .values(status=to, updated_at=utcnow(), **values)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0) == 1

"""The console's tables: accounts, sign-in sessions, single sign-on attempts, article drafts and
the audit log.

A session's cookie holds a random token; the table keeps only its SHA-256 (``id``), so a leaked
database does not hand out live sessions. Every change and every sign-in attempt is one
``AuditEvent``: who, what, on what, when and from which address.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum as SqlEnum
from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from bot.console.roles import Role
from bot.interactions.models import UtcDateTime, utcnow

ROLE_TYPE = SqlEnum(
    Role, native_enum=False, length=16, values_callable=lambda kinds: [k.value for k in kinds]
)


class ConsoleUser(SQLModel, table=True):
    """The ``console_user`` table: one local account."""

    __tablename__ = "console_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    role: Role = Field(sa_type=ROLE_TYPE)
    password_hash: str = Field(max_length=255)
    disabled: bool = Field(default=False)
    locked_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    sso_subject: str | None = Field(
        default=None,
        max_length=512,
        unique=True,
        index=True,
        description="'<issuer> <sub>' of the single sign-on identity this account belongs to, or None.",
    )


class ConsoleUserPublic(SQLModel):
    """An account as lists show it (never the password hash)."""

    name: str
    role: Role
    disabled: bool
    locked_until: datetime | None
    created_at: datetime


class ConsoleSession(SQLModel, table=True):
    """The ``console_session`` table: one signed-in browser, until it signs out or expires."""

    __tablename__ = "console_session"

    id: str = Field(primary_key=True, max_length=64, description="SHA-256 of the cookie's token, hex.")
    user_id: int = Field(foreign_key="console_user.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)
    address: str = Field(default="", max_length=128)


class AuditEvent(SQLModel, table=True):
    """The ``audit_event`` table: one change or sign-in, never a question's or an article's text."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    actor: str = Field(default="", max_length=64, index=True, description="Account name, or '' if none.")
    action: str = Field(max_length=32, index=True)
    target: str = Field(default="", max_length=512)
    detail: str = Field(default="", sa_type=Text)
    address: str = Field(default="", max_length=128)


class SsoLogin(SQLModel, table=True):
    """The ``console_sso_login`` table: one single sign-on attempt between the redirect to the provider
    and its return. ``id`` is the SHA-256 of the ``state`` sent; used once, then deleted."""

    __tablename__ = "console_sso_login"

    id: str = Field(primary_key=True, max_length=64)
    nonce: str = Field(max_length=128)
    code_verifier: str = Field(max_length=128)
    next_path: str = Field(default="", max_length=500)
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)


class DraftStatus(StrEnum):
    """Where a draft stands: waiting for a reviewer, sent back to its author, or published."""

    REVIEW = "review"
    RETURNED = "returned"
    PUBLISHED = "published"


DRAFT_STATUS_TYPE = SqlEnum(
    DraftStatus, native_enum=False, length=16, values_callable=lambda kinds: [k.value for k in kinds]
)


class ArticleDraft(SQLModel, table=True):
    """The ``article_draft`` table: an article's proposed file, kept here until a reviewer publishes it.

    ``base`` is the SHA-256 of the article's file when the draft was started ("" for a new article):
    publishing refuses to overwrite a file that changed since.
    """

    __tablename__ = "article_draft"

    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(max_length=200, index=True)
    author: str = Field(max_length=64, index=True)
    status: DraftStatus = Field(default=DraftStatus.REVIEW, sa_type=DRAFT_STATUS_TYPE, index=True)
    text: str = Field(sa_type=Text, description="The whole Markdown file: front matter and body.")
    base: str = Field(default="", max_length=64)
    asked: str = Field(default="", sa_type=Text, description="Staff questions it answers, one a line.")
    comment: str = Field(default="", sa_type=Text, description="The reviewer's word when sent back.")
    reviewer: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)

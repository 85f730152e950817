"""FastAPI dependencies as named aliases, read from ``app.state`` that ``create_app`` fills.

Tests build the app with other settings or another assistant instead of patching these.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlmodel import Session

from bot.config import Settings
from bot.core.models import Question, Reply
from bot.db import SessionFactory


class ArticleLike(Protocol):
    """What the web pages show of one knowledge article."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def markdown(self) -> str: ...
    @property
    def systems(self) -> Sequence[str]: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def owner(self) -> str: ...
    @property
    def review_by(self) -> str: ...


class AssistantLike(Protocol):
    """The core as the HTTP layer uses it (``bot.core.assistant.Assistant`` or a test twin)."""

    @property
    def ready(self) -> bool: ...
    @property
    def manifest_summary(self) -> Mapping[str, object]: ...
    def refresh(self) -> bool: ...
    def ask(self, question: Question) -> Reply: ...
    def answer_from(self, article_id: str, question: Question) -> Reply | None: ...
    def article(self, article_id: str) -> ArticleLike | None: ...


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_assistant(request: Request) -> AssistantLike:
    """The app's assistant (one per process, shared by every request)."""
    assistant: AssistantLike = request.app.state.assistant
    return assistant


def get_session(request: Request) -> Iterator[Session]:
    """A database session for one request, closed when the request ends.

    Opening it does not connect: a request that never touches the database works with the
    database down.
    """
    sessions: SessionFactory = request.app.state.sessions
    with sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
AssistantDep = Annotated[AssistantLike, Depends(get_assistant)]
SessionDep = Annotated[Session, Depends(get_session)]

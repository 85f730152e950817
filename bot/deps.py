"""FastAPI dependencies as named aliases, read from ``app.state`` that ``create_app`` fills.

The assistant's protocol lives in ``bot.core.assistant_like`` (so the conversation flow needs no
FastAPI); it is re-exported here for the modules that import it from ``bot.deps``.

Tests build the app with other settings or another assistant instead of patching these.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from bot.config import Settings
from bot.core.assistant_like import ArticleLike as ArticleLike  # re-exported for older imports
from bot.core.assistant_like import AssistantLike as AssistantLike  # re-exported likewise
from bot.db import SessionFactory


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

"""What the rest of itbot uses of the core's ``Assistant``, as protocols: the conversation flow, the
channels and the web pages take any object of this shape (the real assistant or a test twin).

Neutral on purpose: no web framework, no database, so the flow can depend on it without FastAPI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from bot.core.models import Question, Reply


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
    """The core as the flow and the HTTP layer use it (``bot.core.assistant.Assistant`` or a test twin)."""

    @property
    def ready(self) -> bool: ...
    @property
    def manifest_summary(self) -> Mapping[str, object]: ...
    def refresh(self) -> bool: ...
    def ask(self, question: Question) -> Reply: ...
    def answer_from(self, article_id: str, question: Question) -> Reply | None: ...
    def article(self, article_id: str) -> ArticleLike | None: ...

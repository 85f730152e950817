"""A fake Slack workspace: the fake Web API (``tests.fakes.slack_api``) that also keeps the messages
posted into each channel, edits them on ``chat.update``, answers ``conversations.history`` and
``.replies`` (with message metadata), and enforces rate limits per method the way Slack does: a
429 with ``Retry-After`` when a channel is posted to faster than ``per_channel_seconds`` allows, or
the workspace exceeds ``per_second`` calls of the method.

    limits = {"chat.postMessage": RateLimit(per_channel_seconds=1, per_second=20)}
    with FakeSlackWorkspace(limits=limits) as slack:
        ...
        slack.duplicates()   # metadata keys posted more than once
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.slack_api import Call, FakeSlackApi, _Failure


@dataclass(frozen=True)
class RateLimit:
    """A method's limits: at most one call a channel each ``per_channel_seconds`` (0: none) and at
    most ``per_second`` calls a second across the workspace (0: none)."""

    per_channel_seconds: float = 0.0
    per_second: int = 0


@dataclass
class Message:
    """A message as the workspace keeps it."""

    channel: str
    ts: str
    text: str
    blocks: list[Any]
    metadata: dict[str, Any]
    thread_ts: str | None
    edits: int = 0


@dataclass
class FakeSlackWorkspace(FakeSlackApi):
    """The fake Web API with channels that hold messages, and rate limits."""

    limits: dict[str, RateLimit] = field(default_factory=dict)
    latency: float = 0.0
    messages: dict[str, list[Message]] = field(default_factory=dict)
    limited: int = 0
    _recent: dict[str, deque[float]] = field(default_factory=dict)
    _last_in_channel: dict[tuple[str, str], float] = field(default_factory=dict)

    def __enter__(self) -> FakeSlackWorkspace:
        super().__enter__()
        return self

    def _before(self, method: str, body: dict[str, Any]) -> None:
        if self.latency:
            time.sleep(self.latency)

    def _limit(self, method: str, body: dict[str, Any]) -> _Failure | None:
        limit = self.limits.get(method)
        if limit is None:
            return None
        now = time.monotonic()
        channel = str(body.get("channel", ""))
        wait = 0.0
        if limit.per_channel_seconds:
            last = self._last_in_channel.get((method, channel))
            if last is not None and now - last < limit.per_channel_seconds:
                wait = max(wait, limit.per_channel_seconds - (now - last))
        recent = self._recent.setdefault(method, deque())
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if limit.per_second and len(recent) >= limit.per_second:
            wait = max(wait, 1.0 - (now - recent[0]))
        if wait > 0:
            self.limited += 1
            # Slack sends whole seconds.
            return _Failure(429, "ratelimited", float(max(1, math.ceil(wait))), 1)
        recent.append(now)
        if limit.per_channel_seconds:
            self._last_in_channel[(method, channel)] = now
        return None

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage":
            answer = super()._answer(method, body)
            metadata = body.get("metadata") or {}
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            channel = str(body.get("channel", ""))
            self.messages.setdefault(channel, []).append(
                Message(
                    channel=channel,
                    ts=answer["ts"],
                    text=str(body.get("text", "")),
                    blocks=list(body.get("blocks") or []),
                    metadata=dict(metadata),
                    thread_ts=body.get("thread_ts") or None,
                )
            )
            return answer
        if method == "chat.update":
            found = self._find(str(body.get("channel", "")), str(body.get("ts", "")))
            if found is None:
                return {"ok": False, "error": "message_not_found"}
            found.text, found.blocks = str(body.get("text", "")), list(body.get("blocks") or [])
            found.edits += 1
            return super()._answer(method, body)
        if method in ("conversations.history", "conversations.replies"):
            channel = str(body.get("channel", ""))
            thread = str(body.get("ts", "")) if method == "conversations.replies" else None
            # ``oldest`` is not applied: the fake's ts count from 1700000000, not from the clock.
            shown = [
                m
                for m in self.messages.get(channel, [])
                if m.thread_ts == thread or (thread is not None and m.ts == thread)
            ]
            with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
            return {
                "ok": True,
                "messages": [
                    {"ts": m.ts, "text": m.text, **({"metadata": m.metadata} if with_metadata else {})}
                    for m in reversed(shown)
                ],
                "has_more": False,
            }
        return super()._answer(method, body)

    def _find(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.messages.get(channel, []) if m.ts == ts), None)

    # -- reading -----------------------------------------------------------------------------------

    def keys_posted(self) -> Counter[str]:
        """How often each metadata key was posted (successful posts only)."""
        with self._lock:
            return Counter(
                str((m.metadata.get("event_payload") or {}).get("key", ""))
                for messages in self.messages.values()
                for m in messages
            )

    def duplicates(self) -> dict[str, int]:
        """Metadata keys posted more than once: what a double post looks like."""
        return {key: n for key, n in self.keys_posted().items() if n > 1}

    def top_level(self, channel: str) -> list[Message]:
        """The channel's messages outside threads, oldest first."""
        with self._lock:
            return [m for m in self.messages.get(channel, []) if m.thread_ts is None]

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The replies in the thread of ``ts``, oldest first."""
        with self._lock:
            return [m for m in self.messages.get(channel, []) if m.thread_ts == ts]

    def succeeded(self, method: str) -> list[Call]:
        """The calls of ``method`` that Slack took (not rate-limited, ok)."""
        return [c for c in self.of(method) if c.response.get("ok")]

"""A fake Slack Web API over real HTTP, for tests and benchmarks (never real Slack).

A ``ThreadingHTTPServer`` on a free loopback port answers ``POST /api/<method>`` the way Slack does
for the methods itbot calls, and records every call (method, decoded body, headers) so a test can
assert what the bot posted. ``POST /respond/<anything>`` stands in for a slash command's
``response_url``. Failures are scripted per test: ``fail_next("chat.postMessage", status=429,
retry_after=1)`` answers the next call with a rate limit, then the method works again.

    with FakeSlackApi() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.api_url)
        ...
        slack.wait_for("chat.postMessage", count=1)
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T0HOSPITAL"


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Failure:
    status: int
    error: str
    retry_after: float | None
    times: int


@dataclass
class FakeSlackApi:
    """The fake server; use it as a context manager (it starts on enter and stops on exit)."""

    socket_url: str = ""  # what apps.connections.open hands out (a FakeSocketMode's url)
    # Who is in a channel (conversations.members) and in a user group (usergroups.users.list).
    channel_members: dict[str, list[str]] = field(default_factory=dict)
    group_members: dict[str, list[str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    _failures: dict[str, deque[_Failure]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> FakeSlackApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

            def do_POST(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-slack", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        """The server's base URL."""
        assert self._server is not None, "use FakeSlackApi as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """What ``SLACK_API_URL`` (a ``WebClient``'s ``base_url``) should be."""
        return f"{self.url}/api/"

    def response_url(self, name: str = "cmd") -> str:
        """A slash command ``response_url`` that lands on this fake."""
        return f"{self.url}/respond/{name}"

    # -- scripting and reading -------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        error: str = "ratelimited",
        retry_after: float | None = 1,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with ``status`` (and Retry-After for 429)."""
        with self._lock:
            self._failures.setdefault(method, deque()).append(_Failure(status, error, retry_after, times))

    def of(self, method: str) -> list[Call]:
        """The successful and failed calls of ``method`` so far, oldest first."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posted(self) -> list[dict[str, Any]]:
        """Bodies of every ``chat.postMessage``, oldest first."""
        return [c.body for c in self.of("chat.postMessage")]

    def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until ``method`` has been called at least ``count`` times (matching ``where``); the calls.

        Raises ``AssertionError`` with what was received when the deadline passes.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.of(method) if where is None or where(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = [c.method for c in self.calls]
                raise AssertionError(f"expected {count} x {method}, got {len(found)}; calls: {seen}")
            time.sleep(0.01)

    def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until no call has arrived for ``quiet`` seconds (so a test can assert "no more")."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = self.calls[-1].at if self.calls else 0.0
            if time.monotonic() - last >= quiet:
                return
            time.sleep(0.02)

    # -- serving -----------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        path = urllib.parse.urlsplit(request.path).path
        if path.startswith("/respond/"):
            method = "response_url"
        elif path.startswith("/api/"):
            method = path.removeprefix("/api/")
        else:
            self._send(request, 404, {"ok": False, "error": "unknown_path"})
            return
        body = _decode(raw, request.headers.get("Content-Type", ""))
        headers = {k.lower(): v for k, v in request.headers.items()}
        self._before(method, body)
        with self._lock:
            failure = self._take_failure(method) or self._limit(method, body)
            answer = {"ok": False, "error": failure.error} if failure else self._answer(method, body)
            self.calls.append(Call(method, body, headers, time.monotonic(), answer))
        if failure is not None:
            extra = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after is not None else {}
            self._send(request, failure.status, answer, extra)
            return
        self._send(request, 200, answer)

    def _before(self, method: str, body: dict[str, Any]) -> None:
        """Called before a call is answered, outside the lock (a subclass may wait here: latency)."""

    def _limit(self, method: str, body: dict[str, Any]) -> _Failure | None:
        """A failure to answer this call with instead of its answer (a subclass's rate limit); under
        the lock. None here."""
        return None

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.popleft()
        return failure

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "team_id": TEAM_ID, "user": "itbot"}
        if method == "chat.postMessage":
            ts = self._next_ts()
            message = {"ts": ts, "text": body.get("text", ""), "blocks": body.get("blocks", [])}
            if body.get("thread_ts"):
                message["thread_ts"] = body["thread_ts"]
            return {"ok": True, "channel": body.get("channel"), "ts": ts, "message": message}
        if method == "chat.update":
            return {
                "ok": True,
                "channel": body.get("channel"),
                "ts": body.get("ts"),
                "text": body.get("text", ""),
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method in ("views.publish", "views.open", "views.update"):
            return {"ok": True, "view": {"id": "V" + self._next_ts().replace(".", "")}}
        if method == "users.info":
            user = str(body.get("user", ""))
            profile = {"display_name": "Dana", "real_name": "Dana Whitfield"}  # every agent is Dana here
            return {"ok": True, "user": {"id": user, "real_name": profile["real_name"], "profile": profile}}
        if method == "response_url":
            return {"ok": True}
        if method == "conversations.members":
            return {"ok": True, "members": list(self.channel_members.get(str(body.get("channel")), []))}
        if method == "usergroups.users.list":
            return {"ok": True, "users": list(self.group_members.get(str(body.get("usergroup")), []))}
        if method == "apps.connections.open":
            return (
                {"ok": True, "url": self.socket_url}
                if self.socket_url
                else {"ok": False, "error": "no_socket"}
            )
        return {"ok": True}

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.end_headers()
        request.wfile.write(data)


def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
    """A request body as a dict: JSON as it is; form fields with JSON-looking values decoded."""
    if not raw:
        return {}
    text = raw.decode("utf-8", "replace")
    if "json" in content_type:
        decoded = json.loads(text)
        return decoded if isinstance(decoded, dict) else {"_": decoded}
    fields: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
        if value[:1] in "[{":
            try:
                fields[key] = json.loads(value)
                continue
            except json.JSONDecodeError:
                pass
        fields[key] = value
    return fields

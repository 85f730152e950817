"""ASGI middlewares that guard every route: body size, unexpected errors, browser security headers,
relative redirects. (What guards the browser-facing API's writes is in ``bot.request_guards``.)"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.interactions.recording import log_failure

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 * 1024

TOO_LARGE = {
    "error": "too_large",
    "message": "That message is too long for me. Please describe the problem in a few sentences.",
}
INTERNAL = {"error": "internal", "message": "Something went wrong on my side. Please try again."}

# Pages load scripts and styles only from /static; article images may come from elsewhere.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


class BodySizeLimit:
    """Answers 413 with a short JSON message when a request body is over ``max_bytes``.

    A declared ``Content-Length`` over the limit is refused before anything is read; a body sent
    without one (chunked) is read up to the limit and then refused, so no route ever holds more.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_too_large(send)
            return
        if declared is not None:
            await self.app(scope, receive, send)
            return
        # No length declared: buffer (at most the limit) and replay, so the route sees a normal body.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class SafeErrors:
    """Turns an exception no route handled into a short JSON 500, and logs it without its message.

    Starlette's own error middleware re-raises after answering, so the server would log the
    exception's text, which may quote a question; this one logs the type and the frames only.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log_failure(log, "unhandled_error", exc, method=scope.get("method", ""))
            if not started:
                await _send_json(send, 500, INTERNAL)


class SecurityHeaders:
    """Adds a strict Content-Security-Policy and related headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


class RelativeRedirects:
    """Makes every redirect to this server relative: ``Location: /path`` rather than
    ``http://<Host header>/path``.

    Starlette builds absolute redirect URLs from the request's ``Host`` header, which the client
    writes; answered as is, ``Host: evil.example`` would send people elsewhere. A ``Location`` whose
    host is the request's ``Host`` loses its scheme and host (and a path starting ``//``, which a
    browser would read as another host, keeps one slash).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "")

        async def relative(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                headers = MutableHeaders(scope=message)
                location = headers.get("location")
                if location is not None:
                    headers["location"] = relative_location(location, host=host)
            await send(message)

        await self.app(scope, receive, relative)


def relative_location(location: str, *, host: str) -> str:
    """``location`` without scheme and host when it points at ``host``; otherwise unchanged."""
    parts = urlsplit(location)
    if not parts.netloc or parts.netloc.lower() != host.lower():
        return location
    path = "/" + parts.path.lstrip("/")
    return urlunsplit(("", "", path, parts.query, parts.fragment))


async def _send_too_large(send: Send) -> None:
    await _send_json(send, 413, TOO_LARGE)


async def _send_json(send: Send, status: int, payload: dict[str, str]) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

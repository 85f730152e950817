"""What guards the HTTP routes.

ASGI middlewares for every route: body size, unexpected errors, browser security headers, relative
redirects. Route classes for the browser-facing API: ``BrowserSafeRoute`` (a state-changing request
must be JSON and, when a browser says where it comes from, come from the server's own origin) and
``WebChatRoute`` (that, plus the web chat's rate limits).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.config import Settings
from bot.interactions.recording import log_failure
from bot.rate_limit import RateLimiter, limiter

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


# -- browser requests to the web API: same origin, JSON only, rate limits -----------------------------

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The escalation steps that open (or add a report to) a ticket; asking for details opens nothing yet.
OPENING_STEPS = frozenset({"opened", "joined", "kept"})
MAX_KEY_CHARS = 128

CROSS_SITE = {
    "error": "cross_site",
    "message": "This request came from another web site, so I did not act on it.",
}
NOT_JSON = {
    "error": "unsupported_media_type",
    "message": 'Send the request as JSON, with the header "Content-Type: application/json".',
}
TOO_FAST = "You're sending messages faster than I can keep up with. Please wait a moment and try again."


def _origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower case, default port left out; None otherwise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def origin_allowed(origin: str, *, host: str | None, settings: Settings) -> bool:
    """Whether a browser's ``Origin`` is the server's own or one of ``ITBOT_ALLOWED_ORIGINS``.

    The server's own origin is ``ITBOT_PUBLIC_URL``'s when set. Without it, the request's ``Host``
    header stands in (compared by host and port, since a TLS proxy in front hides the scheme): a
    browser sets ``Host`` from the address it loads, so a page elsewhere cannot make them match, but a
    DNS-rebinding page can, which is why production should set ``ITBOT_PUBLIC_URL`` (or
    ``ITBOT_ALLOWED_HOSTS``). ``Origin: null`` (sandboxed frames, files) is never allowed.
    """
    given = _origin_of(origin)
    if given is None:
        return False
    allowed = {o for o in map(_origin_of, settings.allowed_origin_list) if o}
    if settings.public_url:
        own = _origin_of(settings.public_url)
        return given == own or given in allowed
    if given in allowed:
        return True
    scheme = given.split("://", 1)[0]
    return bool(host) and _origin_of(f"{scheme}://{host}") == given


def cross_site_refusal(request: Request, settings: Settings) -> JSONResponse | None:
    """403 for a state-changing request a browser sent from another site; None to let it through.

    Only browsers send ``Origin`` and ``Sec-Fetch-Site``; a request with neither (curl, scripts,
    ``itbot``'s own clients) is not a cross-site one and passes.
    """
    origin = request.headers.get("origin")
    if origin is not None:
        ok = origin_allowed(origin, host=request.headers.get("host"), settings=settings)
    else:
        ok = request.headers.get("sec-fetch-site", "").lower() != "cross-site"
    if ok:
        return None
    log.warning("event=request_refused reason=cross_site method=%s path=%s", request.method, request.url.path)
    return JSONResponse(CROSS_SITE, 403)


def content_type_refusal(request: Request) -> JSONResponse | None:
    """415 for a request that carries a body other than ``application/json``; None otherwise.

    A body-less request (``Content-Length: 0``, or neither it nor ``Transfer-Encoding``) needs no
    type: there is nothing to read. ``text/plain`` and form bodies are what a page on another site
    can send without asking first, so they are never read as JSON.
    """
    length = request.headers.get("content-length")
    bodyless = length == "0" or (length is None and "transfer-encoding" not in request.headers)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if bodyless or media == "application/json":
        return None
    log.warning(
        "event=request_refused reason=content_type method=%s path=%s", request.method, request.url.path
    )
    return JSONResponse(NOT_JSON, 415)


def client_address(request: Request, settings: Settings) -> str:
    """The client's address: the socket peer, or, when the peer is one of ``ITBOT_TRUSTED_PROXIES``,
    the nearest ``X-Forwarded-For`` hop that is not a trusted proxy. The header is never read when no
    proxy is trusted (the default), since any client can write it."""
    peer = request.client.host if request.client is not None else ""
    proxies = _networks(settings.trusted_proxy_list)
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for v in request.headers.getlist("x-forwarded-for") for h in v.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop[:MAX_KEY_CHARS]
    return hops[0][:MAX_KEY_CHARS] if hops else peer


def _networks(entries: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    networks = []
    for entry in entries:
        with contextlib.suppress(ValueError):
            networks.append(ip_network(entry, strict=False))
    return tuple(networks)


def _trusted(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


@dataclass(frozen=True)
class WebLimits:
    """The web chat's rate limits (None: that limit is off), one set per app, kept in ``app.state``."""

    per_address: RateLimiter | None
    per_conversation: RateLimiter | None
    tickets_per_address: RateLimiter | None
    tickets_per_conversation: RateLimiter | None

    @classmethod
    def from_settings(cls, settings: Settings) -> WebLimits:
        """The limits ``settings`` ask for: requests a minute, tickets an hour."""
        return cls(
            per_address=limiter(settings.asks_per_minute_per_address, 60.0),
            per_conversation=limiter(settings.asks_per_minute_per_conversation, 60.0),
            tickets_per_address=limiter(settings.escalations_per_hour_per_address, 3600.0),
            tickets_per_conversation=limiter(settings.escalations_per_hour_per_conversation, 3600.0),
        )


def too_many(wait: float, code: str, message: str) -> JSONResponse:
    """429 with ``Retry-After`` (whole seconds, at least 1) and ``{"error", "message", "retry_after"}``."""
    seconds = max(1, math.ceil(wait))
    body = {"error": code, "message": message, "retry_after": seconds}
    return JSONResponse(body, 429, headers={"retry-after": str(seconds)})


class BrowserSafeRoute(APIRoute):
    """A route whose state-changing methods refuse cross-site requests (403) and non-JSON bodies (415)
    before anything else is read; GET, HEAD and OPTIONS pass untouched."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler behind the origin and content-type checks."""
        handle = super().get_route_handler()

        async def checked(request: Request) -> Response:
            """The checks, then the route."""
            if request.method in SAFE_METHODS:
                return await handle(request)
            settings: Settings = request.app.state.settings
            refused = cross_site_refusal(request, settings) or content_type_refusal(request)
            if refused is not None:
                return refused
            return await self.after_checks(request, handle, settings)

        return checked

    async def after_checks(
        self, request: Request, handle: Callable[[Request], Coroutine[Any, Any, Response]], settings: Settings
    ) -> Response:
        """Answer a state-changing request that passed the checks (here: the route itself)."""
        return await handle(request)


class WebChatRoute(BrowserSafeRoute):
    """``BrowserSafeRoute`` plus the web chat's rate limits on state-changing requests:

    requests per client address and per conversation (the body's ``"conversation"``) a minute, and
    tickets per address and per conversation an hour. A request is refused with 429 when a limit is
    spent; a request with a conversation is refused once that conversation or address has opened its
    tickets for the hour (tickets are only ever opened in a conversation), and a reply that opened one
    is counted. Each server process counts on its own (``bot.rate_limit``).
    """

    async def after_checks(
        self, request: Request, handle: Callable[[Request], Coroutine[Any, Any, Response]], settings: Settings
    ) -> Response:
        """The limits, then the route; an answer that opened a ticket is counted."""
        limits = _limits_of(request, settings)
        address = "addr:" + client_address(request, settings)
        conversation = _conversation_key(await request.body())
        refused = _spent(limits, address, conversation, settings)
        if refused is not None:
            return refused
        response = await handle(request)
        if conversation is not None and _opened_ticket(response):
            for bucket, key in (
                (limits.tickets_per_address, address),
                (limits.tickets_per_conversation, conversation),
            ):
                if bucket is not None:
                    bucket.charge(key)
        return response


def _limits_of(request: Request, settings: Settings) -> WebLimits:
    limits: WebLimits | None = getattr(request.app.state, "web_limits", None)
    if limits is None:
        limits = request.app.state.web_limits = WebLimits.from_settings(settings)
    return limits


def _spent(
    limits: WebLimits, address: str, conversation: str | None, settings: Settings
) -> JSONResponse | None:
    """The 429 to answer when a limit is spent (nothing is taken from a bucket then), else None."""
    waits = [
        (bucket.wait(key), kind)
        for bucket, key, kind in (
            (limits.per_address, address, "address"),
            (limits.per_conversation, conversation, "conversation"),
        )
        if bucket is not None and key is not None
    ]
    spent = [(wait, kind) for wait, kind in waits if wait > 0]
    if spent:
        wait, kind = max(spent)
        log.warning("event=rate_limited limit=%s retry_after=%.0f", kind, wait)
        return too_many(wait, "rate_limited", TOO_FAST)
    if conversation is not None:
        tickets = [
            bucket.wait(key)
            for bucket, key in (
                (limits.tickets_per_address, address),
                (limits.tickets_per_conversation, conversation),
            )
            if bucket is not None
        ]
        if any(wait > 0 for wait in tickets):
            wait = max(tickets)
            log.warning("event=rate_limited limit=tickets retry_after=%.0f", wait)
            message = (
                "You've already asked IT for help several times in the last hour. If it's urgent, call "
                f"the service desk at {settings.service_desk_phone}."
            )
            return too_many(wait, "too_many_tickets", message)
    for bucket, key in ((limits.per_address, address), (limits.per_conversation, conversation)):
        if bucket is not None and key is not None:
            bucket.take(key)
    return None


def _conversation_key(body: bytes) -> str | None:
    """``conv:<id>`` for the body's ``"conversation"`` string, or None (no body, not JSON, none named)."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    value = payload.get("conversation") if isinstance(payload, dict) else None
    return f"conv:{value}" if isinstance(value, str) and 0 < len(value) <= MAX_KEY_CHARS else None


def _opened_ticket(response: Response) -> bool:
    """Whether a web chat answer says its escalation step opened (or joined, or kept) a ticket."""
    if response.status_code != 200 or not response.media_type or "json" not in response.media_type:
        return False
    try:
        body = json.loads(bytes(response.body))
    except (ValueError, RecursionError):
        return False
    return isinstance(body, dict) and body.get("escalation") in OPENING_STEPS

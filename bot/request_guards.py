"""What guards the browser-facing API's state-changing requests (the web chat, the tickets API).

``BrowserSafeRoute``: a write must be JSON (415 otherwise: ``text/plain`` and forms are what a page on
another site can send without asking first) and, when a browser says where it comes from (``Origin``,
``Sec-Fetch-Site``), come from the server's own origin (403 otherwise). ``WebChatRoute``: that, plus
the web chat's rate limits (429 with ``Retry-After``). Slack's and Teams' routes check their own
signatures and use neither.
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
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from bot.config import Settings
from bot.rate_limit import RateLimiter, limiter

log = logging.getLogger(__name__)

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
    spent; a request that could open a ticket (one in a conversation, other than "That fixed it") is
    refused once that conversation or address has opened its tickets for the hour, and a reply that
    opened one is counted. Without a conversation nothing can open a ticket, so such questions are
    still answered. Each server process counts on its own (``bot.rate_limit``).
    """

    async def after_checks(
        self, request: Request, handle: Callable[[Request], Coroutine[Any, Any, Response]], settings: Settings
    ) -> Response:
        """The limits, then the route; an answer that opened a ticket is counted."""
        limits: WebLimits = request.app.state.web_limits
        address = "addr:" + client_address(request, settings)
        conversation, may_open_ticket = _read_body(await request.body())
        refused = _spent(limits, address, conversation, settings, may_open_ticket=may_open_ticket)
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


def _spent(
    limits: WebLimits, address: str, conversation: str | None, settings: Settings, *, may_open_ticket: bool
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
    if may_open_ticket:
        tickets = [
            bucket.wait(key)
            for bucket, key in (
                (limits.tickets_per_address, address),
                (limits.tickets_per_conversation, conversation),
            )
            if bucket is not None and key is not None
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


def _read_body(body: bytes) -> tuple[str | None, bool]:
    """``conv:<id>`` for the body's ``"conversation"`` string (or None: no body, not JSON, none named),
    and whether the request could open a ticket: any in a conversation but a "That fixed it" click."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None, False
    if not isinstance(payload, dict):
        return None, False
    value = payload.get("conversation")
    if not isinstance(value, str) or not 0 < len(value) <= MAX_KEY_CHARS:
        return None, False
    return f"conv:{value}", payload.get("helpful") is not True


def _opened_ticket(response: Response) -> bool:
    """Whether a web chat answer says its escalation step opened (or joined, or kept) a ticket."""
    if response.status_code != 200 or not response.media_type or "json" not in response.media_type:
        return False
    try:
        body = json.loads(bytes(response.body))
    except (ValueError, RecursionError):
        return False
    return isinstance(body, dict) and body.get("escalation") in OPENING_STEPS

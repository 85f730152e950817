"""Who is signed in to the console, and what they may do: one dependency per role.

Every console route names the least role it needs (``ViewerDep`` ... ``AdminDep``); the dependency
reads the session cookie, checks the session in the database (unexpired, account enabled, its role
read afresh, so a role change or a disabled account applies at once), checks the CSRF token of every
state-changing request, and only then the role. Without a session a page request is redirected to
``/console/login`` and a JSON request gets 401; a role too low gets 403.

Cross-site writes are refused before any of that by ``ConsoleRoute`` (the web chat's origin check).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from bot.config import Settings
from bot.console.models import ConsoleSession, ConsoleUser
from bot.console.queries import get_live_session
from bot.console.roles import Role
from bot.deps import SessionDep, SettingsDep
from bot.request_guards import SAFE_METHODS, client_address, cross_site_refusal

SESSION_COOKIE = "itbot_console"
LOGIN_CSRF_COOKIE = "itbot_console_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_PATH = "/console/login"


class SignInRequired(Exception):
    """No valid session: a page is redirected to the sign-in page, JSON gets 401."""

    def __init__(self, *, wants_json: bool, next_path: str) -> None:
        super().__init__("sign-in required")
        self.wants_json = wants_json
        self.next_path = next_path


class ConsoleRefused(Exception):
    """A signed-in request that may not go on: 403 with a short reason (role, CSRF token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Signed:
    """The signed-in account of one request, its session, and the client address it came from."""

    user: ConsoleUser
    session: ConsoleSession
    address: str

    @property
    def name(self) -> str:
        """The account's name (what the audit log calls the actor)."""
        return self.user.name

    @property
    def role(self) -> Role:
        """The account's role as stored now."""
        return self.user.role

    @property
    def csrf_token(self) -> str:
        """The token every form and script of this session sends back."""
        return self.session.csrf_token


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON rather than a page."""
    accept = request.headers.get("accept", "")
    media = request.headers.get("content-type", "")
    return "application/json" in accept or "application/json" in media


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a sent token with the expected one (empty never matches)."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), expected)


async def sent_csrf_token(request: Request) -> str | None:
    """The CSRF token a request carries: the ``X-CSRF-Token`` header, else the form's field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return None
    value = (await request.form()).get(CSRF_FIELD)
    return value if isinstance(value, str) else None


def _back_to(request: Request) -> str:
    """Where signing in should lead: the page asked for, with its query (a date range, filters) when
    it was a page view."""
    query = request.url.query
    return f"{request.url.path}?{query}" if query and request.method in SAFE_METHODS else request.url.path


def require(role: Role) -> Callable[..., Awaitable[Signed]]:
    """The dependency that lets a request through only for a session whose account has ``role`` or more."""

    async def signed_in(request: Request, settings: SettingsDep, session: SessionDep) -> Signed:
        token = request.cookies.get(SESSION_COOKIE)
        found = get_live_session(session=session, token=token) if token else None
        if found is None:
            raise SignInRequired(wants_json=wants_json(request), next_path=_back_to(request))
        row, user = found
        if request.method not in SAFE_METHODS and not same_token(
            await sent_csrf_token(request), row.csrf_token
        ):
            raise ConsoleRefused("This form has expired. Reload the page and try again.")
        if not user.role.allows(role):
            raise ConsoleRefused(
                f"Your role ({user.role.value}) may not do this; it needs {role.value} or more."
            )
        return Signed(user=user, session=row, address=client_address(request, settings))

    return signed_in


ViewerDep = Annotated[Signed, Depends(require(Role.VIEWER))]
CuratorDep = Annotated[Signed, Depends(require(Role.CURATOR))]
AgentDep = Annotated[Signed, Depends(require(Role.AGENT))]
AdminDep = Annotated[Signed, Depends(require(Role.ADMIN))]


class ConsoleRoute(APIRoute):
    """A console route: a state-changing request that a browser sent from another site is refused
    with 403 before anything is read (as the web chat's routes do); forms are allowed, since every
    console form carries its session's CSRF token."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler behind the origin check."""
        handle = super().get_route_handler()

        async def checked(request: Request) -> Response:
            """The origin check, then the route."""
            if request.method not in SAFE_METHODS:
                settings: Settings = request.app.state.settings
                refused = cross_site_refusal(request, settings)
                if refused is not None:
                    return refused
            return await handle(request)

        return checked

"""The console's sign-in, sign-out and audit pages (``/console/login``, ``/console/audit``...).

Article pages are in ``bot.console.articles``. Every route here but the sign-in page names its
least role through a dependency of ``bot.console.auth``.
"""

from __future__ import annotations

import csv
import io
import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from bot.config import Settings
from bot.console.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    AdminDep,
    ConsoleRoute,
    ViewerDep,
    same_token,
)
from bot.console.pages import page
from bot.console.queries import delete_session, list_events, list_users, record_event
from bot.console.signin import Outcome, SignInLimits, sign_in
from bot.deps import SessionDep, SettingsDep
from bot.request_guards import client_address

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

REFUSED = "That name and password do not match an account that may sign in now."
TOO_FAST = "Too many sign-in attempts. Wait a minute and try again."
AUDIT_PAGE_ROWS = 500
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_next(path: str | None) -> str:
    """Where to go after signing in: ``path`` when it is a console page on this server, else the
    console's first page (never another site: no scheme, no ``//``, no backslash)."""
    path = path or ""
    if path.startswith("/console") and "\\" not in path and not path.startswith("/console/login"):
        return path
    return "/console/articles"


def login_page_response(
    request: Request, *, error: str = "", next_path: str = "", status_code: int = 200
) -> Response:
    """The sign-in page (with a fresh sign-in CSRF token cookie), with ``error`` shown when given, and
    the single sign-on button when it is configured."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        None,
        {
            "login_token": token,
            "error": error,
            "next_path": safe_next(next_path),
            "sso": request.app.state.settings.oidc_enabled,
        },
        status_code=status_code,
    )
    settings = request.app.state.settings
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/console/login",
        secure=settings.console_cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/console")
def console_home(_signed: ViewerDep) -> Response:
    """The console's first page is the article list."""
    return RedirectResponse("/console/articles", status_code=303)


@router.get("/console/login")
def login_page(request: Request, next: str = "") -> Response:
    """The sign-in form (with a sign-in CSRF token, also set as a cookie)."""
    return login_page_response(request, next_path=next)


@router.post("/console/login")
def login(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Check the name and password: on success set the session cookie and go to ``next``;
    otherwise the form again with one sentence that never says which part was wrong."""
    if not same_token(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return login_page_response(request, error="The sign-in form expired. Try again.", status_code=403)
    address = client_address(request, settings)
    limits: SignInLimits = request.app.state.console_sign_in_limits
    result = sign_in(
        session=session, settings=settings, limits=limits, name=name, password=password, address=address
    )
    if result.outcome is Outcome.TOO_FAST:
        response = login_page_response(request, error=TOO_FAST, next_path=next, status_code=429)
        response.headers["retry-after"] = str(max(1, math.ceil(result.retry_after)))
        return response
    if result.outcome is not Outcome.SIGNED_IN:
        return login_page_response(request, error=REFUSED, next_path=next, status_code=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, result.token, settings)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """Give the browser its session: HttpOnly, SameSite=Strict, Secure unless turned off, console only."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.console_session_hours * 3600),
        path="/console",
        secure=settings.console_cookie_secure,
        httponly=True,
        samesite="strict",
    )


@router.post("/console/logout")
def logout(request: Request, signed: ViewerDep, session: SessionDep, settings: SettingsDep) -> Response:
    """End this session (the row is deleted, the cookie cleared) and show the sign-in page."""
    delete_session(session=session, token=request.cookies.get(SESSION_COOKIE, ""))
    record_event(
        session=session, actor=signed.name, action="sign_out", target=signed.name, address=signed.address
    )
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/console", secure=settings.console_cookie_secure, httponly=True
    )
    return response


@router.get("/console/audit")
def audit_page(request: Request, signed: AdminDep, session: SessionDep) -> Response:
    """The newest audit events (admins only), with a link to all of them as CSV."""
    events = list_events(session=session, limit=AUDIT_PAGE_ROWS)
    return page(request, "audit.html", signed, {"events": events, "limit": AUDIT_PAGE_ROWS})


def csv_cell(value: str) -> str:
    """``value`` as a CSV cell a spreadsheet will show as text, never run as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


@router.get("/console/audit.csv")
def audit_csv(signed: AdminDep, session: SessionDep) -> Response:
    """Every audit event as CSV (admins only): at, actor, action, target, detail, address."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["at", "actor", "action", "target", "detail", "address"])
    for event in list_events(session=session):
        writer.writerow(
            [event.at.isoformat()]
            + [csv_cell(v) for v in (event.actor, event.action, event.target, event.detail, event.address)]
        )
    record_event(session=session, actor=signed.name, action="audit_exported", address=signed.address)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": 'attachment; filename="itbot-audit.csv"',
            "cache-control": "no-store",
        },
    )


@router.get("/console/users")
def users_page(request: Request, signed: AdminDep, session: SessionDep) -> Response:
    """The accounts and their roles (admins only; accounts are changed with ``itbot users``)."""
    return page(request, "users.html", signed, {"users": list_users(session=session)})

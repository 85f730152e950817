"""``/console/sso/start`` and ``/console/sso/callback``: single sign-on's two requests (see ``sso``).

The start redirects the browser to the provider and gives it a cookie holding the attempt's
``state`` (SameSite=Lax: it must come back on the provider's cross-site redirect). The callback is
accepted only with that cookie, the same ``state`` in the URL, and an unexpired attempt kept in the
database under it (used once): so a sign-in cannot be finished in a browser that did not start it.
The session cookie is SameSite=Strict, which a browser holds back on the rest of a redirect chain
that began on the provider's site; the callback therefore answers with a small page that moves on to
the console itself, as a same-site navigation.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bot.console.auth import ConsoleRoute, same_token
from bot.console.pages import page
from bot.console.queries import create_sso_login, record_event, take_sso_login
from bot.console.routes import login_page_response, safe_next, set_session_cookie
from bot.console.signin import SSO_FAILED, Outcome, SignInLimits, sign_in_sso
from bot.console.sso import OidcProvider, SsoRefused, redirect_url
from bot.deps import SessionDep, SettingsDep
from bot.request_guards import client_address

log = logging.getLogger(__name__)
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
SSO_COOKIE = "itbot_console_sso"
SSO_COOKIE_PATH = "/console/sso"
ATTEMPT_MINUTES = 10
FAILED = "Single sign-on did not work. Try again, or ask IT operations to look at the audit log."
TOO_FAST = "Too many sign-in attempts. Wait a minute and try again."


def _provider(request: Request) -> OidcProvider | None:
    provider: OidcProvider | None = request.app.state.console_sso
    return provider


def _request_base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/console/sso/start")
def sso_start(request: Request, settings: SettingsDep, session: SessionDep, next: str = "") -> Response:
    """Send the browser to the provider to sign in (404 when single sign-on is not configured)."""
    provider = _provider(request)
    if provider is None:
        return Response("Single sign-on is not configured.", status_code=404, media_type="text/plain")
    address = client_address(request, settings)
    limits: SignInLimits = request.app.state.console_sign_in_limits
    if limits.per_address is not None:
        if limits.per_address.wait(f"addr:{address}") > 0:
            return login_page_response(request, error=TOO_FAST, status_code=429)
        limits.per_address.take(f"addr:{address}")
    try:
        started = provider.start(redirect_uri=redirect_url(settings, _request_base(request)))
    except Exception as exc:  # the provider is down or misconfigured: say so, log the kind
        log.warning("event=sso_start_failed error=%s", type(exc).__name__)
        record_event(
            session=session,
            actor="",
            action=SSO_FAILED,
            detail=f"start: {type(exc).__name__}",
            address=address,
        )
        return login_page_response(request, error=FAILED, status_code=502)
    create_sso_login(
        session=session,
        state=started.state,
        nonce=started.nonce,
        code_verifier=started.code_verifier,
        next_path=safe_next(next),
        lifetime=timedelta(minutes=ATTEMPT_MINUTES),
    )
    response = RedirectResponse(started.url, status_code=303)
    response.set_cookie(
        SSO_COOKIE,
        started.state,
        max_age=ATTEMPT_MINUTES * 60,
        path=SSO_COOKIE_PATH,
        secure=settings.console_cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return response


def _refused(request: Request, *, session: SessionDep, reason: str, address: str) -> Response:
    record_event(session=session, actor="", action=SSO_FAILED, detail=reason[:500], address=address)
    response = login_page_response(request, error=FAILED, status_code=401)
    response.delete_cookie(SSO_COOKIE, path=SSO_COOKIE_PATH)
    return response


@router.get("/console/sso/callback")
def sso_callback(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    code: str = "",
    state: str = "",
    error: str = "",
) -> Response:
    """Finish a sign-in the provider sent back: state, code, ID token checked; then the account's
    session starts (an account is made at the first sign-in). Every outcome is audited."""
    provider = _provider(request)
    if provider is None:
        return Response("Single sign-on is not configured.", status_code=404, media_type="text/plain")
    address = client_address(request, settings)
    if error:
        return _refused(request, session=session, reason=f"provider: {error[:100]}", address=address)
    if not same_token(state, request.cookies.get(SSO_COOKIE, "")):
        return _refused(request, session=session, reason="state_mismatch", address=address)
    attempt = take_sso_login(session=session, state=state)
    if attempt is None or not code:
        return _refused(request, session=session, reason="unknown_or_expired_state", address=address)
    try:
        identity = provider.finish(
            code=code[:2000],
            nonce=attempt.nonce,
            code_verifier=attempt.code_verifier,
            redirect_uri=redirect_url(settings, _request_base(request)),
        )
    except SsoRefused as refused:
        return _refused(request, session=session, reason=refused.reason, address=address)
    except Exception as exc:  # a token the library refused, or a provider that did not answer
        log.warning("event=sso_refused error=%s", type(exc).__name__)
        reason = f"{type(exc).__name__}: {str(exc)[:200]}"
        return _refused(request, session=session, reason=reason, address=address)
    result = sign_in_sso(session=session, settings=settings, identity=identity, address=address)
    if result.outcome is not Outcome.SIGNED_IN:
        response = login_page_response(request, error=FAILED, status_code=401)
        response.delete_cookie(SSO_COOKIE, path=SSO_COOKIE_PATH)
        return response
    response = page(request, "sso_done.html", None, {"next_path": safe_next(attempt.next_path)})
    set_session_cookie(response, result.token, settings)
    response.delete_cookie(SSO_COOKIE, path=SSO_COOKIE_PATH)
    return response

"""``add_console(app)``: the console's routes, its state and its two answers to a refused request."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from bot.config import Settings
from bot.console import (
    analytics_page,
    articles,
    drafts,
    gaps_page,
    notices_pages,
    routes,
    sso_routes,
    tickets_pages,
)
from bot.console.analytics_rollup import AnalyticsMemo
from bot.console.auth import LOGIN_PATH, ConsoleRefused, SignInRequired, wants_json
from bot.console.knowledge import ArticleMemo
from bot.console.pages import page
from bot.console.signin import SignInLimits
from bot.console.sso import OidcProvider

STATIC_DIR = Path(__file__).resolve().parent / "static"


def add_console(app: FastAPI, settings: Settings) -> None:
    """Serve the console under ``/console`` on ``app``: sign-in limits kept in ``app.state``, a request
    without a session redirected to the sign-in page (JSON: 401), a refused one answered 403."""
    app.state.console_sign_in_limits = SignInLimits.from_settings(settings)
    app.state.console_sso = OidcProvider(settings) if settings.oidc_enabled else None
    app.state.analytics_memo = AnalyticsMemo()
    app.state.console_article_memo = ArticleMemo()
    app.include_router(routes.router)
    app.include_router(sso_routes.router)
    app.include_router(articles.router)
    app.include_router(drafts.router)
    app.include_router(gaps_page.router)
    app.include_router(analytics_page.router)
    app.include_router(tickets_pages.router)
    app.include_router(notices_pages.router)
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console_static")

    @app.exception_handler(SignInRequired)
    async def sign_in_required(_request: Request, exc: SignInRequired) -> Response:
        if exc.wants_json:
            return JSONResponse(
                {"error": "sign_in_required", "message": "Sign in to the console first."}, 401
            )
        return RedirectResponse(f"{LOGIN_PATH}?next={quote(exc.next_path, safe='/')}", status_code=303)

    @app.exception_handler(ConsoleRefused)
    async def refused(request: Request, exc: ConsoleRefused) -> Response:
        if wants_json(request):
            return JSONResponse({"error": "forbidden", "message": exc.reason}, 403)
        return page(request, "refused.html", None, {"reason": exc.reason}, status_code=403)

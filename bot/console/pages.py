"""The console's templates and the responses every console page shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from bot.console.auth import Signed
from bot.console.roles import Role

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)


def page(
    request: Request, name: str, signed: Signed | None, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    """The template ``name`` rendered for ``signed`` (its name, role and CSRF token are in the page);
    never cached, since it shows what only this account may see."""
    values: dict[str, Any] = {
        "me": signed,
        "csrf_token": signed.csrf_token if signed is not None else "",
        "roles": Role,
    }
    values.update(context)
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    response.headers["cache-control"] = "no-store"
    return response

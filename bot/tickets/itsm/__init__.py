"""Forwarding tickets to the hospital's service desk: ServiceNow, Jira Service Management or a webhook.

``build_forwarder(settings)`` picks the mapping named by ``ITBOT_ITSM_KIND`` and gives it an HTTP
client with the desk's credentials: basic auth (``ITBOT_ITSM_USERNAME`` / ``ITBOT_ITSM_PASSWORD``)
for ServiceNow and Jira, ``ITBOT_ITSM_PASSWORD`` as a bearer token for a webhook. ``none`` (the
default) gives no forwarder: the worker then marks ``itsm`` messages delivered with ``no_target``.
"""

from __future__ import annotations

from collections.abc import Generator

import httpx

from bot.config import Settings
from bot.tickets.itsm.forwarder import DEFAULT_TIMEOUT, HttpForwarder
from bot.tickets.itsm.jira import JiraMapping
from bot.tickets.itsm.mapping import ItsmMapping
from bot.tickets.itsm.servicenow import ServiceNowMapping
from bot.tickets.itsm.webhook import WebhookMapping

KINDS = ("none", "webhook", "servicenow", "jira")


class ItsmConfigError(ValueError):
    """The service desk settings are incomplete or name an unknown kind; the message says which."""


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request."""

    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the bearer token to ``request``."""
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def build_mapping(settings: Settings) -> ItsmMapping | None:
    """The mapping for ``settings.itsm_kind`` (None for ``none``); raises ``ItsmConfigError``."""
    kind = settings.itsm_kind.strip().lower()
    if kind not in KINDS:
        raise ItsmConfigError(f"ITBOT_ITSM_KIND={settings.itsm_kind!r}: use one of {', '.join(KINDS)}")
    if kind == "none":
        return None
    if not settings.itsm_url:
        raise ItsmConfigError(f"ITBOT_ITSM_KIND={kind} needs ITBOT_ITSM_URL")
    if kind == "servicenow":
        return ServiceNowMapping(settings.itsm_url)
    if kind == "jira":
        if not settings.jira_service_desk_id or not settings.jira_request_type_id:
            raise ItsmConfigError(
                "ITBOT_ITSM_KIND=jira needs ITBOT_JIRA_SERVICE_DESK_ID and ITBOT_JIRA_REQUEST_TYPE_ID"
            )
        return JiraMapping(
            settings.itsm_url,
            service_desk_id=settings.jira_service_desk_id,
            request_type_id=settings.jira_request_type_id,
        )
    return WebhookMapping(settings.itsm_url)


def build_forwarder(settings: Settings, *, timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> HttpForwarder | None:
    """The forwarder ``settings`` describe, or None when no service desk is configured.

    Raises ``ItsmConfigError`` when the settings are incomplete, so a worker refuses to start rather
    than dead-lettering every ticket.
    """
    mapping = build_mapping(settings)
    if mapping is None:
        return None
    auth: httpx.Auth | None = None
    if mapping.kind == "webhook":
        if settings.itsm_password:
            auth = BearerAuth(settings.itsm_password)
    elif settings.itsm_username:
        auth = httpx.BasicAuth(settings.itsm_username, settings.itsm_password)
    return HttpForwarder(mapping, auth=auth, timeout=timeout)

"""The SDK's connector clients, made once and reused, instead of once per activity.

Left alone, the SDK's ``CloudAdapter`` builds two clients for every activity (a ``ConnectorClient``
to reply and a ``UserTokenClient`` the bot never uses). Each costs about 3 ms of pure-Python CPU in
msrest's configuration (its retry policy builds a list of status codes by scanning another list, a
million comparisons), and each opens an aiohttp session of its own, so every reply also paid a new
TCP (in production, TLS) connection. On a two-core machine that was a third of an activity's CPU.

``ReusingAuthentication`` wraps the SDK's authentication: the token check is the SDK's, unchanged;
the connector factory it hands to the adapter is ``ReusedConnectors``, which keeps one client per
service URL and audience on the running event loop (a client's aiohttp session belongs to its loop),
and the user-token client is made once per loop too. The service URLs are the few the token check
and ``ITBOT_TEAMS_SERVICE_URLS`` let through; the cache is bounded anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import OrderedDict
from typing import Any

from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)

from bot.channels.teams.auth import CONNECTOR_SCOPE, ClientCredentialsFactory
from bot.channels.teams.connector import without_retries

MAX_CLIENTS = 32


class ReusedConnectors(ConnectorFactory):  # type: ignore[misc]
    """A ``ConnectorFactory`` that hands out one client per (service URL, audience) on this loop."""

    def __init__(self, credentials: ClientCredentialsFactory) -> None:
        self.credentials = credentials
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: OrderedDict[tuple[str, str], ConnectorClient] = OrderedDict()

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        """The client for ``service_url`` (made on first use), its retries left to our policy."""
        scope = audience or CONNECTOR_SCOPE
        loop = asyncio.get_running_loop()
        key = (service_url, scope)
        with self._lock:
            if loop is not self._loop:
                self._loop, self._clients = loop, OrderedDict()
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
        made = without_retries(
            ConnectorClient(
                self.credentials.credentials(self.credentials.app_id, scope), base_url=service_url
            )
        )
        with self._lock:
            if loop is self._loop:
                self._clients[key] = made
                while len(self._clients) > MAX_CLIENTS:
                    self._clients.popitem(last=False)
        return made

    async def close(self) -> None:
        """Close the clients' HTTP sessions (at shutdown, on their loop)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), OrderedDict()
        for client in clients:
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)


class ReusingAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]
    """The SDK's authentication (``inner``), handing out reused clients."""

    def __init__(self, inner: BotFrameworkAuthentication, connectors: ReusedConnectors) -> None:
        self.inner = inner
        self.connectors = connectors
        self._token_clients: dict[asyncio.AbstractEventLoop, UserTokenClient] = {}

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        """The SDK's check of the activity's token; its result carries the reused connectors."""
        result = await self.inner.authenticate_request(activity, auth_header)
        return self._reusing(result)

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        """The SDK's check of a streaming request (not used by itbot), with reused connectors."""
        result = await self.inner.authenticate_streaming_request(auth_header, channel_id_header)
        return self._reusing(result)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        """The reused connectors (our one app id is the only one a token can carry)."""
        return self.connectors

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        """One user-token client per loop (the adapter asks for one every turn; itbot never uses it)."""
        loop = asyncio.get_running_loop()
        client = self._token_clients.get(loop)
        if client is None:
            client = await self.inner.create_user_token_client(claims_identity)
            self._token_clients = {loop: client}
        return client

    def get_originating_audience(self) -> str:
        """The SDK's answer."""
        audience: str = self.inner.get_originating_audience()
        return audience

    async def authenticate_channel_request(self, auth_header: str) -> Any:
        """The SDK's answer."""
        return await self.inner.authenticate_channel_request(auth_header)

    def _reusing(self, result: AuthenticateRequestResult) -> AuthenticateRequestResult:
        if result.connector_factory is not None:
            result.connector_factory = self.connectors
        return result

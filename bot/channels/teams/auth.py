"""Who may talk to the bot, and how the bot proves who it is.

Incoming: every activity's bearer token is checked by the SDK's ``BotFrameworkAuthentication``,
built here with our settings as its URLs: the signature against the keys of
``ITBOT_TEAMS_OPENID_METADATA_URL``, the audience (our app id), expiry with the SDK's five-minute
leeway, and the ``serviceurl`` claim against the activity's ``serviceUrl``. On top, ``check_claims``
accepts only channel tokens (issuer ``https://api.botframework.com``, an ``exp`` present): the SDK
would otherwise also take emulator and skill tokens signed by other keys.

Outgoing: the bot's own token comes from ``ClientCredentialsFactory``, the SDK's credential-factory
hook, by a plain client-credentials form post to ``ITBOT_TEAMS_TOKEN_URL`` (MSAL accepts only an
https authority and asks Microsoft's discovery first, which a test server cannot answer). Replies go
only to service URLs under ``ITBOT_TEAMS_SERVICE_URLS``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
from botframework.connector.auth import (
    AppCredentials,
    AuthenticationConfiguration,
    BotFrameworkAuthentication,
    BotFrameworkAuthenticationFactory,
    ServiceClientCredentialsFactory,
)
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor

from bot.config import Settings

log = logging.getLogger(__name__)

CHANNEL_ISSUER = "https://api.botframework.com"
CONNECTOR_SCOPE = "https://api.botframework.com"
TOKEN_TIMEOUT_SECONDS = 10.0
# A token is renewed this long before it expires, so a reply never goes out with a stale one.
TOKEN_MARGIN_SECONDS = 300.0
# How often, at most, a token naming a key id the cached keys lack makes them be fetched again: a
# rotation is picked up at once, and tokens with made-up key ids cannot make every request fetch.
KEY_REFRESH_SECONDS = 300.0


class TokenError(Exception):
    """The token endpoint did not give the bot a token (the code names why; never the secret)."""


class _TokenCache:
    """Tokens by (endpoint, app id, scope) with their expiry, shared by every credential object."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}

    def get(self, key: tuple[str, str, str]) -> str | None:
        with self._lock:
            found = self._tokens.get(key)
        if found is None or found[1] <= time.monotonic():
            return None
        return found[0]

    def put(self, key: tuple[str, str, str], token: str, expires_in: float) -> None:
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + max(expires_in - TOKEN_MARGIN_SECONDS, 30.0))


_CACHE = _TokenCache()


class ClientCredentials(AppCredentials):  # type: ignore[misc]
    """The bot's credentials for the Bot Connector: a token from a client-credentials form post."""

    def __init__(self, *, app_id: str, password: str, token_url: str, scope: str) -> None:
        super().__init__(app_id=app_id, oauth_scope=scope)
        self._password = password
        self._token_url = token_url
        self._scope = scope if scope.endswith("/.default") else scope.rstrip("/") + "/.default"

    def get_access_token(self, force_refresh: bool = False) -> str:
        """A bearer token for the Bot Connector (cached until shortly before it expires).

        Raises ``TokenError`` when the token endpoint refuses or cannot be reached.
        """
        key = (self._token_url, str(self.microsoft_app_id), self._scope)
        cached = None if force_refresh else _CACHE.get(key)
        if cached is not None:
            return cached
        form = {
            "grant_type": "client_credentials",
            "client_id": str(self.microsoft_app_id),
            "client_secret": self._password,
            "scope": self._scope,
        }
        try:
            response = httpx.post(self._token_url, data=form, timeout=TOKEN_TIMEOUT_SECONDS)
        except httpx.HTTPError as exc:
            raise TokenError(type(exc).__name__) from exc
        if response.status_code != 200:
            raise TokenError(f"http_{response.status_code}")
        try:
            body: dict[str, Any] = response.json()
            token = str(body["access_token"])
            expires_in = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenError("bad_token_response") from exc
        _CACHE.put(key, token, expires_in)
        log.info("event=teams_token_fetched expires_in=%d", int(expires_in))
        return token


class ClientCredentialsFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]
    """The SDK's credential-factory hook: our app id is the only valid one, authentication is never
    off, and credentials are ``ClientCredentials`` against ``ITBOT_TEAMS_TOKEN_URL``."""

    def __init__(self, *, app_id: str, password: str, token_url: str) -> None:
        self.app_id = app_id
        self.password = password
        self.token_url = token_url

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientCredentialsFactory:
        """The factory for ``settings``' Teams app."""
        return cls(
            app_id=settings.teams_app_id or "",
            password=settings.teams_app_password or "",
            token_url=settings.teams_token_endpoint,
        )

    async def is_valid_app_id(self, app_id: str) -> bool:
        """True only for our own app id."""
        return bool(self.app_id) and app_id == self.app_id

    async def is_authentication_disabled(self) -> bool:
        """Never: an activity without a token is refused."""
        return False

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> AppCredentials:
        """Credentials for our app id (anything else is refused)."""
        return self.credentials(app_id, oauth_scope or CONNECTOR_SCOPE)

    def credentials(self, app_id: str, scope: str = CONNECTOR_SCOPE) -> ClientCredentials:
        """Synchronous twin of ``create_credentials`` (the worker is not async)."""
        if app_id != self.app_id:
            raise PermissionError("not our app id")
        return ClientCredentials(app_id=app_id, password=self.password, token_url=self.token_url, scope=scope)


async def check_claims(claims: list[dict[str, Any]]) -> None:
    """The SDK's claims-validator hook: only a channel token (Bot Framework's issuer) with an expiry."""
    for claim_set in claims:
        if claim_set.get("iss") != CHANNEL_ISSUER:
            raise PermissionError("not a channel token")
        if not isinstance(claim_set.get("exp"), int | float):
            raise PermissionError("token without expiry")


def build_authentication(
    settings: Settings, credentials: ClientCredentialsFactory
) -> BotFrameworkAuthentication:
    """The SDK's authentication, with every URL taken from ``settings`` (nothing from the environment)."""
    metadata = settings.teams_openid_metadata_url
    return BotFrameworkAuthenticationFactory.create(
        channel_service=None,
        validate_authority=True,
        to_channel_from_bot_login_url=settings.teams_token_endpoint,
        to_channel_from_bot_oauth_scope=CONNECTOR_SCOPE,
        to_bot_from_channel_token_issuer=CHANNEL_ISSUER,
        oauth_url=CONNECTOR_SCOPE,
        to_bot_from_channel_open_id_metadata_url=metadata,
        to_bot_from_emulator_open_id_metadata_url=metadata,
        credential_factory=credentials,
        auth_configuration=AuthenticationConfiguration(claims_validator=check_claims),
    )


class KeyRefresh:
    """Fetching the OpenID keys again when a token names a key id they lack (a key rotation).

    The SDK keeps the keys for a day and means to fetch them again for an unknown key id, but its
    lookup raises ``IndexError`` before it gets there; so a rotation would refuse every activity
    until the next daily fetch. ``due`` marks the SDK's cached keys stale, at most once per
    ``every_seconds``, so that checking the token again fetches them first.
    """

    def __init__(self, metadata_url: str, every_seconds: float = KEY_REFRESH_SECONDS) -> None:
        self._url = metadata_url
        self._every = every_seconds
        self._last = float("-inf")
        self._lock = threading.Lock()

    def due(self) -> bool:
        """True, with the keys marked for fetching, unless this was done within the interval."""
        with self._lock:
            now = time.monotonic()
            if now - self._last < self._every:
                return False
            self._last = now
        JwtTokenExtractor.get_open_id_metadata(self._url).last_updated = datetime.min
        log.info("event=teams_keys_refresh")
        return True


def service_url_allowed(url: str | None, prefixes: Sequence[str]) -> bool:
    """True when ``url`` starts with one of ``prefixes`` (scheme and host compared case-insensitively;
    a prefix always ends at a path boundary, so ``https://a.example`` does not admit ``https://a.example.evil``)."""
    if not url:
        return False
    try:
        candidate = _normal(url)
        return any(candidate.startswith(_normal(prefix)) for prefix in prefixes if prefix)
    except (httpx.InvalidURL, ValueError, UnicodeError):
        return False


def _normal(url: str) -> str:
    parsed = httpx.URL(url)
    path = parsed.raw_path.decode("ascii", "replace").split("?", 1)[0] or "/"
    port = f":{parsed.port}" if parsed.port else ""
    path = path if path.endswith("/") else path + "/"
    return f"{parsed.scheme.lower()}://{parsed.host.lower()}{port}{path}"

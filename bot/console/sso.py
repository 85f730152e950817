"""Single sign-on to the console with OpenID Connect (Entra ID or any provider), through Authlib.

The authorization-code flow with PKCE (S256): ``start`` makes a fresh ``state``, ``nonce`` and code
verifier and the provider's authorization URL; ``finish`` trades the returned code (with the
verifier) for tokens at the provider's token endpoint and validates the ID token with Authlib
(joserfc): its signature against the provider's published keys (the key set fetched again once
when a token names an unknown key), the algorithms the provider announces (never ``none``), issuer
equal to ``ITBOT_OIDC_ISSUER``, audience holding our client id, not expired and not issued in the
future (within ``ITBOT_OIDC_LEEWAY_SECONDS``), and the ``nonce`` of this attempt. The caller keeps the
``state`` and checks it came back; nothing here touches the database or the web framework.

Who the user is comes from the validated claims only: ``sub`` (with the issuer) is the identity,
``ITBOT_OIDC_NAME_CLAIM`` the account name, ``ITBOT_OIDC_ROLE_CLAIM`` the values
``ITBOT_OIDC_ROLE_MAP`` turns into a role, ``tid`` the tenant checked against
``ITBOT_OIDC_ALLOWED_TENANTS``.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, cast

from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from bot.config import Settings
from bot.console.roles import Role

CALLBACK_PATH = "/console/sso/callback"
METADATA_SECONDS = 3600.0
HTTP_TIMEOUT_SECONDS = 10.0
# Asymmetric algorithms only: an HS256 token would be "signed" with our own client secret.
SAFE_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


class SsoRefused(Exception):
    """The provider's answer is not a valid sign-in; ``reason`` is a short code for the audit log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Started:
    """One sign-in attempt on its way to the provider: where to send the browser, and what to keep."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class Identity:
    """Who the provider vouched for: the stable subject, the account name, and the role its claims map to
    (None when no mapped value is in them)."""

    subject: str
    name: str
    role: Role | None
    tenant: str


def redirect_url(settings: Settings, request_base: str) -> str:
    """The callback URL registered with the provider: ``ITBOT_OIDC_REDIRECT_URL``, else the public URL's
    (or this request's base URL's) ``/console/sso/callback``."""
    if settings.oidc_redirect_url:
        return settings.oidc_redirect_url
    base = settings.public_url or request_base
    return base.rstrip("/") + CALLBACK_PATH


def mapped_role(settings: Settings, claims: dict[str, Any]) -> Role | None:
    """The highest role ``ITBOT_OIDC_ROLE_MAP`` gives a value of the role claim, or None."""
    values = claims.get(settings.oidc_role_claim)
    held = {values} if isinstance(values, str) else set(values) if isinstance(values, list) else set()
    roles = [Role(role) for value, role in settings.oidc_role_pairs if value in held and role in set(Role)]
    return max(roles, key=lambda r: r.rank) if roles else None


def identity_of(settings: Settings, claims: dict[str, Any]) -> Identity:
    """The identity in validated ID-token ``claims``; `SsoRefused` for a tenant not allowed or no name."""
    tenant = str(claims.get("tid", ""))
    allowed = settings.oidc_allowed_tenant_list
    if allowed and tenant not in allowed:
        raise SsoRefused("tenant_not_allowed")
    name = ""
    for claim in (settings.oidc_name_claim, "email", "sub"):
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            name = value.strip().lower()
            break
    if not name or len(name) > 64:
        raise SsoRefused("no_usable_name")
    return Identity(
        subject=f"{claims['iss']} {claims['sub']}",
        name=name,
        role=mapped_role(settings, claims),
        tenant=tenant,
    )


class OidcProvider:
    """The configured provider: its discovery document and key set (cached an hour), and the two
    halves of the flow. Thread-safe; one per app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, Any] | None = None
        self._fetched_at = 0.0

    def _client(self, redirect_uri: str) -> OAuth2Client:
        return OAuth2Client(
            client_id=self.settings.oidc_client_id,
            client_secret=self.settings.oidc_client_secret or None,
            token_endpoint_auth_method="client_secret_basic" if self.settings.oidc_client_secret else "none",
            scope=self.settings.oidc_scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=HTTP_TIMEOUT_SECONDS,
            follow_redirects=False,
        )

    def metadata(self) -> dict[str, Any]:
        """The provider's OpenID configuration (cached); `SsoRefused` when it names another issuer."""
        with self._lock:
            if self._metadata is not None and time.monotonic() - self._fetched_at < METADATA_SECONDS:
                return self._metadata
        url = self.settings.oidc_discovery_url or (
            self.settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
        )
        with self._client("") as client:
            answer = client.request("GET", url, withhold_token=True)
            answer.raise_for_status()
            metadata: dict[str, Any] = answer.json()
        if metadata.get("issuer") != self.settings.oidc_issuer:
            raise SsoRefused("discovery_issuer_mismatch")
        with self._lock:
            self._metadata, self._keys, self._fetched_at = metadata, None, time.monotonic()
        return metadata

    def _key_set(self, *, force: bool) -> KeySet:
        metadata = self.metadata()
        with self._lock:
            keys = self._keys
        if keys is None or force:
            with self._client("") as client:
                answer = client.request("GET", metadata["jwks_uri"], withhold_token=True)
                answer.raise_for_status()
                keys = answer.json()
            with self._lock:
                self._keys = keys
        return KeySet.import_key_set(cast(Any, keys))

    def start(self, *, redirect_uri: str) -> Started:
        """A new attempt: fresh state, nonce and PKCE verifier, and the provider's authorization URL."""
        endpoint = self.metadata()["authorization_endpoint"]
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        with self._client(redirect_uri) as client:
            url, _state = client.create_authorization_url(
                endpoint, state=state, code_verifier=verifier, nonce=nonce
            )
        return Started(url=url, state=state, nonce=nonce, code_verifier=verifier)

    def finish(self, *, code: str, nonce: str, code_verifier: str, redirect_uri: str) -> Identity:
        """Trade ``code`` for tokens and validate the ID token (see the module's docstring); the
        identity it vouches for. `SsoRefused`, or the library's own error, when anything is wrong."""
        metadata = self.metadata()
        with self._client(redirect_uri) as client:
            token = client.fetch_token(
                metadata["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                redirect_uri=redirect_uri,
            )
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SsoRefused("no_id_token")
        announced = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in announced if a in SAFE_ALGORITHMS] or ["RS256"])
        try:
            decoded = jwt.decode(id_token, self._key_set(force=False), registry=registry)
        except InvalidKeyIdError:  # the provider rolled its keys since we fetched them
            decoded = jwt.decode(id_token, self._key_set(force=True), registry=registry)
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": self.settings.oidc_issuer},
                "aud": {"essential": True, "value": self.settings.oidc_client_id},
                "sub": {"essential": True},
            },
            {
                "nonce": nonce,
                "client_id": self.settings.oidc_client_id,
                "access_token": token.get("access_token"),
            },
        )
        claims.validate(now=int(time.time()), leeway=self.settings.oidc_leeway_seconds)
        return identity_of(self.settings, dict(claims))

"""A fake OpenID Connect provider over real HTTP (Entra ID's shape), for tests: never a real one.

A ``ThreadingHTTPServer`` on a free loopback port serves
- ``/.well-known/openid-configuration``: the discovery document (issuer = the server's URL);
- ``/keys``: the JWKS with the public half of an RSA key made when the fake starts;
- ``/authorize``: records what the client sent (state, nonce, PKCE challenge, redirect URI) and sends
  the browser straight back to the redirect URI with a one-time code (the user "signed in" at once);
- ``/token``: checks the client's secret (HTTP Basic), the code, the redirect URI and the PKCE
  verifier against the challenge, and answers with an access token and an RS256 ID token.

Who signs in next is ``provider.user`` (claims such as ``preferred_username``, ``roles``, ``tid``);
what is wrong with the next ID token is scripted with ``provider.tamper``: ``nonce``, ``iss``, ``aud``,
``exp`` overwrite those claims, ``key="other"`` signs with a key the JWKS does not hold.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "itbot-console-test"
CLIENT_SECRET = "fake-client-secret-for-tests"
TENANT = "11111111-2222-3333-4444-555555555555"


@dataclass
class _Grant:
    nonce: str
    challenge: str
    method: str
    redirect_uri: str


@dataclass
class FakeOidcProvider:
    """The fake server; use it as a context manager (it starts on enter and stops on exit)."""

    user: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "sub-ann-0001",
            "preferred_username": "ann.curator@hospital.example",
            "roles": [],
            "tid": TENANT,
        }
    )
    tamper: dict[str, Any] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _grants: dict[str, _Grant] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig"})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-oidc", daemon=True)

    @property
    def issuer(self) -> str:
        """What the provider's ID tokens name as ``iss`` (and the discovery document as ``issuer``)."""
        return self.url

    def __enter__(self) -> FakeOidcProvider:
        self._thread.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def discovery(self) -> dict[str, Any]:
        """The OpenID configuration this fake serves."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/keys",
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, query: dict[str, str]) -> str:
        """Record an authorization request; the URL the browser is sent back to (with a code)."""
        with self._lock:
            self.authorize_requests.append(query)
            code = secrets.token_urlsafe(16)
            self._grants[code] = _Grant(
                nonce=query.get("nonce", ""),
                challenge=query.get("code_challenge", ""),
                method=query.get("code_challenge_method", ""),
                redirect_uri=query.get("redirect_uri", ""),
            )
        back = {"code": code, "state": query.get("state", "")}
        return f"{query.get('redirect_uri', '')}?{urllib.parse.urlencode(back)}"

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        """The token endpoint's answer (status, JSON) to one request."""
        with self._lock:
            self.token_requests.append(form)
            grant = self._grants.pop(form.get("code", ""), None)
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return 401, {"error": "invalid_client"}
        if grant is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if grant.method != "S256" or digest != grant.challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier does not match"}
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "nonce": grant.nonce,
            **self.user,
        }
        tamper = dict(self.tamper)
        key = self.other_key if tamper.pop("key", "") == "other" else self.key
        claims.update(tamper)
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key-1"}, claims, key)
        return 200, {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": id_token,
        }


def _handler(provider: FakeOidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/.well-known/openid-configuration":
                self._json(200, provider.discovery())
            elif url.path == "/keys":
                self._json(200, {"keys": [provider.key.as_dict(private=False)]})
            elif url.path == "/authorize":
                query = dict(urllib.parse.parse_qsl(url.query))
                self.send_response(302)
                self.send_header("location", provider.authorize(query))
                self.send_header("content-length", "0")
                self.end_headers()
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            if urllib.parse.urlsplit(self.path).path != "/token":
                self._json(404, {"error": "not_found"})
                return
            status, body = provider.token(form, self.headers.get("authorization", ""))
            self._json(status, body)

    return Handler

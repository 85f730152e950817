"""A fake Microsoft identity platform and Bot Connector over real HTTP, for tests and benchmarks.

One ``ThreadingHTTPServer`` on a free loopback port plays every Microsoft endpoint the Teams channel
talks to, with an RSA key pair made when it starts (never a real key):

* ``GET /openid`` (the OpenID configuration, pointing at ``/keys``) and ``GET /keys`` (its JWKS,
  fetches counted in ``key_fetches``); ``token(...)`` signs a channel token with the key, as Bot
  Framework would; ``publish_key(kid)`` adds a key, as Microsoft does when it rotates them;
* ``POST /token``: the client-credentials form post that gives the bot its own token;
* the Bot Connector under ``/connector/v3/conversations/...``: ``POST .../activities`` (send),
  ``POST .../activities/{id}`` (reply), ``PUT .../activities/{id}`` (update). Every call is recorded
  (method, conversation, body, bearer) so a test can assert what the bot posted; failures are scripted
  per test: ``fail_next(status=429, times=2)``.

    with FakeTeams() as teams:
        settings = ... teams_openid_metadata_url=teams.openid_url, teams_token_url=teams.token_url,
                   teams_service_urls=teams.service_url ...
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

APP_ID = "00000000-aaaa-4bbb-8ccc-000000000001"
APP_PASSWORD = "test-secret"
TENANT_ID = "11111111-2222-4333-8444-555555555555"
BOT_ID = f"28:{APP_ID}"
ISSUER = "https://api.botframework.com"
KID = "test-key-1"


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_key() -> rsa.RSAPrivateKey:
    """A fresh 2048-bit RSA key (for the fake, or a forger)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class ConnectorCall:
    """One call the fake Bot Connector received."""

    verb: str  # send, reply, update
    conversation: str
    activity_id: str  # the activity replied to or updated ("" for send)
    body: dict[str, Any]
    bearer: str
    at: float
    posted_id: str = ""

    @property
    def card(self) -> dict[str, Any]:
        """The first Adaptive Card attached, or {}."""
        for attachment in self.body.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return dict(attachment.get("content") or {})
        return {}

    @property
    def card_text(self) -> str:
        """Every TextBlock of the card, one a line."""
        return "\n".join(b.get("text", "") for b in self.card.get("body", []) if b.get("type") == "TextBlock")

    @property
    def buttons(self) -> list[str]:
        """The titles of the card's actions."""
        return [a.get("title", "") for a in self.card.get("actions", [])]


@dataclass
class FakeTeams:
    """The fake server; use it as a context manager (it starts on enter and stops on exit)."""

    calls: list[ConnectorCall] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    key: rsa.RSAPrivateKey = field(default_factory=make_key)
    # Keys published beside ``key`` (by ``publish_key``), as Microsoft adds a key before signing with it.
    more_keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    key_fetches: int = 0
    _failures: deque[tuple[int, float | None]] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> FakeTeams:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PUT(self) -> None:
                fake._handle(self, "PUT")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-teams", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- addresses -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def openid_url(self) -> str:
        return f"{self.base_url}/openid"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def service_url(self) -> str:
        """The Bot Connector's base URL, as activities carry it in ``serviceUrl``."""
        return f"{self.base_url}/connector/"

    # -- tokens ----------------------------------------------------------------------------------

    def token(
        self,
        *,
        service_url: str | None = None,
        audience: str = APP_ID,
        issuer: str = ISSUER,
        expires_in: float = 3600,
        key: rsa.RSAPrivateKey | None = None,
        kid: str = KID,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """A channel token as Bot Framework signs them (this fake's key unless ``key`` is given)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "serviceurl": service_url if service_url is not None else self.service_url,
            "nbf": now - 60,
            "exp": now + int(expires_in),
            **(extra or {}),
        }
        signer = key or self.more_keys.get(kid, self.key)
        return jwt.encode(claims, signer, algorithm="RS256", headers={"kid": kid})

    def publish_key(self, kid: str) -> None:
        """Add a signing key under ``kid`` to the JWKS (a rotation); ``token(kid=kid)`` signs with it."""
        with self._lock:
            self.more_keys[kid] = make_key()

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in [(KID, self.key), *self.more_keys.items()]:
            numbers = key.public_key().public_numbers()
            jwk = {"kty": "RSA", "use": "sig", "kid": kid, "n": _b64(numbers.n), "e": _b64(numbers.e)}
            keys.append({**jwk, "endorsements": ["msteams"]})
        return {"keys": keys}

    # -- scripting and reading -------------------------------------------------------------------

    def fail_next(self, *, status: int, times: int = 1, retry_after: float | None = None) -> None:
        """Answer the next ``times`` connector calls with ``status`` (then work again)."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * times)

    def of(self, verb: str | None = None) -> list[ConnectorCall]:
        """The connector calls received so far (of one ``verb``: send, reply, update), oldest first."""
        with self._lock:
            return [c for c in self.calls if verb is None or c.verb == verb]

    def posts(self) -> list[ConnectorCall]:
        """Messages posted (sends and replies), oldest first."""
        return [c for c in self.of() if c.verb in ("send", "reply")]

    def wait_for(
        self,
        verb: str | None = None,
        *,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[ConnectorCall], bool] | None = None,
    ) -> list[ConnectorCall]:
        """Wait until at least ``count`` matching calls arrived; returns them. Fails at ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.of(verb) if where is None or where(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} {verb or 'connector'} calls, got {len(found)}")
            time.sleep(0.01)

    def settle(self, *, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until no call arrived for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = self.calls[-1].at if self.calls else 0.0
            if time.monotonic() - last >= quiet:
                return
            time.sleep(0.05)

    # -- serving ---------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, verb: str) -> None:
        path = urllib.parse.urlsplit(request.path).path
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        if verb == "GET" and path == "/openid":
            self._answer(request, 200, {"issuer": ISSUER, "jwks_uri": f"{self.base_url}/keys"})
        elif verb == "GET" and path == "/keys":
            with self._lock:
                self.key_fetches += 1
            self._answer(request, 200, self.jwks())
        elif verb == "POST" and path == "/token":
            form = dict(urllib.parse.parse_qsl(raw.decode()))
            with self._lock:
                self.token_requests.append(form)
            ok = form.get("client_id") == APP_ID and form.get("client_secret") == APP_PASSWORD
            if ok and form.get("grant_type") == "client_credentials" and form.get("scope"):
                self._answer(request, 200, {"access_token": "bot-token-1", "expires_in": 3600})
            else:
                self._answer(request, 401, {"error": "invalid_client"})
        elif path.startswith("/connector/v3/conversations/"):
            self._connector(request, verb, path, raw)
        else:
            self._answer(request, 404, {"error": "not_found"})

    def _connector(self, request: BaseHTTPRequestHandler, verb: str, path: str, raw: bytes) -> None:
        rest = path.removeprefix("/connector/v3/conversations/")
        conversation, _, tail = rest.partition("/activities")
        conversation = urllib.parse.unquote(conversation)
        activity_id = urllib.parse.unquote(tail.lstrip("/"))
        bearer = str(request.headers.get("Authorization") or "").removeprefix("Bearer ")
        if bearer != "bot-token-1":
            self._answer(request, 401, {"error": {"code": "Unauthorized"}})
            return
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            status, retry_after = failure
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            self._answer(request, status, {"error": {"code": "Throttled"}}, headers)
            return
        kind = "update" if verb == "PUT" else ("reply" if activity_id else "send")
        body = json.loads(raw or b"{}")
        posted = activity_id if kind == "update" else f"posted-{next(self._ids)}"
        call = ConnectorCall(kind, conversation, activity_id, body, bearer, time.monotonic(), posted)
        with self._lock:
            self.calls.append(call)
        self._answer(request, 200 if kind == "update" else 201, {"id": posted})

    def _answer(
        self,
        request: BaseHTTPRequestHandler,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)

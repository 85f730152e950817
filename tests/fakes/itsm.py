"""Fake service desks over real HTTP, for tests and benchmarks (never a real ServiceNow or Jira).

Each fake is a ``ThreadingHTTPServer`` on a free loopback port that answers the calls itbot's
forwarder makes, keeps what was created, and records every request (method, path, query, headers,
JSON body) so a test can count what arrived. Failures are scripted per test:

    with FakeServiceNow() as desk:
        desk.down(status=503, retry_after=30)   # every request gets 503 until desk.up()
        desk.down(times=3)                       # only the next three requests
        desk.refuse_connections()                # nothing listens on the port until desk.up()
        desk.slow_creates(seconds=1.0)           # the next create is stored, then answered late
        desk.latency = 0.005                     # every answer waits 5 ms

* ``FakeServiceNow``: the Table API's incident table (create, query by ``correlation_id``, PATCH).
* ``FakeJira``: Jira Service Management's customer requests (create, search, comment).
* ``FakeWebhook``: any POST; remembers each ``Idempotency-Key`` once, as a receiver should.

Basic auth is checked when the fake is given credentials (401 otherwise).

Beside them, what the outbox tests share: payload builders shaped as escalation enqueues them
(``ticket_payload``, ``comment_payload``, ``status_payload``), ``FakeClock`` (the worker's clock,
moved by hand), and the in-memory twins of the seams: ``RecordingSender`` (a ``ChatSender``) and
``InMemoryForwarder`` (a ``Forwarder``).
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from bot.tickets.outbox_models import OutboxMessage


@dataclass(frozen=True)
class Request:
    """One request a fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class Answer:
    """What a fake sends back."""

    status: int
    body: Any = None
    headers: dict[str, str] | None = None


@dataclass
class _Outage:
    status: int
    retry_after: float | None
    times: int | None


class FakeDesk:
    """The server, request log and failure scripting every fake desk shares (a context manager)."""

    name = "fake-desk"

    def __init__(self, *, username: str = "", password: str = "", latency: float = 0.0) -> None:
        self.username = username
        self.password = password
        self.latency = latency
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self._outages: list[_Outage] = []
        self._slow_creates: list[float] = []
        self._server: ThreadingHTTPServer | None = None
        self._port = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._stop()

    def _start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, the body waits for a delayed ACK (40 ms).
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                fake._serve(self)

            def do_POST(self) -> None:
                fake._serve(self)

            def do_PATCH(self) -> None:
                fake._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        server.daemon_threads = True
        self._port = int(server.server_address[1])
        # A short poll interval: shutdown (and refuse_connections) waits for one.
        threading.Thread(target=server.serve_forever, args=(0.05,), name=self.name, daemon=True).start()
        self._server = server

    def _stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        """The base URL (stays the same across ``refuse_connections`` / ``up``)."""
        assert self._port, "use the fake as a context manager"
        return f"http://127.0.0.1:{self._port}"

    # -- scripting --------------------------------------------------------------------------------

    def down(self, *, status: int = 503, retry_after: float | None = None, times: int | None = None) -> None:
        """Answer ``status`` (and any Retry-After) to the next ``times`` requests, or all until ``up``."""
        with self.lock:
            self._outages.append(_Outage(status, retry_after, times))

    def rate_limit(self, *, retry_after: float = 5.0, times: int = 1) -> None:
        """Answer 429 with Retry-After to the next ``times`` requests."""
        self.down(status=429, retry_after=retry_after, times=times)

    def refuse_connections(self) -> None:
        """Stop listening: connections are refused until ``up``."""
        self._stop()

    def up(self) -> None:
        """Back to normal: listening again, no scripted failures left."""
        with self.lock:
            self._outages.clear()
        if self._server is None:
            self._start()

    def slow_creates(self, *, seconds: float, times: int = 1) -> None:
        """Store the next ``times`` creates at once but answer each only after ``seconds``."""
        with self.lock:
            self._slow_creates.extend([seconds] * times)

    # -- reading --------------------------------------------------------------------------------------

    def of(self, method: str, path_prefix: str = "") -> list[Request]:
        """The requests with this method (and path prefix) so far, oldest first."""
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def wait_until(self, condition: Callable[[], bool], *, timeout: float = 10.0) -> None:
        """Wait until ``condition()`` holds; ``AssertionError`` when ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: condition not met in {timeout} s")
            time.sleep(0.01)

    # -- serving ----------------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        split = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        headers = {k.lower(): v for k, v in handler.headers.items()}
        request = Request(handler.command, split.path, query, headers, body, time.monotonic())
        with self.lock:
            self.requests.append(request)
            outage = self._take_outage()
        if self.latency:
            time.sleep(self.latency)
        if outage is not None:
            extra = {"Retry-After": f"{outage.retry_after:g}"} if outage.retry_after is not None else {}
            self._send(handler, Answer(outage.status, {"error": "unavailable"}, extra))
            return
        if not self._authorized(headers):
            self._send(handler, Answer(401, {"error": "unauthorized"}))
            return
        with self.lock:
            answer, delay = self.handle(request)
        if delay:
            time.sleep(delay)
        self._send(handler, answer)

    def _take_outage(self) -> _Outage | None:
        if not self._outages:
            return None
        outage = self._outages[0]
        if outage.times is not None:
            outage.times -= 1
            if outage.times <= 0:
                self._outages.pop(0)
        return outage

    def _take_slow_create(self) -> float:
        """Seconds to hold the answer to the create being handled (call with the lock held)."""
        return self._slow_creates.pop(0) if self._slow_creates else 0.0

    def _authorized(self, headers: dict[str, str]) -> bool:
        if not self.username:
            return True
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return headers.get("authorization") == f"Basic {expected}"

    def handle(self, request: Request) -> tuple[Answer, float]:
        """The answer to ``request`` and how long to hold it (called with ``lock`` held)."""
        raise NotImplementedError

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
        data = json.dumps(answer.body).encode() if answer.body is not None else b""
        try:
            handler.send_response(answer.status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for key, value in (answer.headers or {}).items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client timed out and went away: what a slow create is for.
            pass


class FakeServiceNow(FakeDesk):
    """ServiceNow's Table API for ``incident``: POST, GET ``?sysparm_query=correlation_id=..``, PATCH."""

    name = "fake-servicenow"
    TABLE = "/api/now/table/incident"

    def __init__(self, *, username: str = "itbot", password: str = "s3cret", latency: float = 0.0) -> None:
        super().__init__(username=username, password=password, latency=latency)
        self.incidents: dict[str, dict[str, Any]] = {}
        self._numbers = itertools.count(10001)

    def created_by_correlation(self) -> Counter[str]:
        """How many incidents were created per ``correlation_id`` (exactly once: every count is 1)."""
        with self.lock:
            return Counter(str(i.get("correlation_id", "")) for i in self.incidents.values())

    def incident(self, correlation_id: str) -> dict[str, Any]:
        """The incident created for ``correlation_id`` (``KeyError`` if none)."""
        with self.lock:
            for record in self.incidents.values():
                if record.get("correlation_id") == correlation_id:
                    return record
        raise KeyError(correlation_id)

    def handle(self, request: Request) -> tuple[Answer, float]:
        """Create, query and update incidents."""
        if request.path == self.TABLE and request.method == "POST":
            if not isinstance(request.body, dict) or not request.body.get("short_description"):
                return Answer(400, {"error": {"message": "short_description required"}}), 0.0
            sys_id = uuid.uuid4().hex
            record = {
                **request.body,
                "sys_id": sys_id,
                "number": f"INC{next(self._numbers):07d}",
                "state": "1",
                "comments": [],
                "work_notes": [],
                "created_at": time.monotonic(),
            }
            self.incidents[sys_id] = record
            return Answer(201, {"result": _fields(record, request.query)}), self._take_slow_create()
        if request.path == self.TABLE and request.method == "GET":
            wanted = _correlation_query(request.query.get("sysparm_query", ""))
            found = [
                r for r in self.incidents.values() if wanted is None or r.get("correlation_id") == wanted
            ]
            limit = int(request.query.get("sysparm_limit") or len(found) or 1)
            return Answer(200, {"result": [_fields(r, request.query) for r in found[:limit]]}), 0.0
        if request.path.startswith(self.TABLE + "/") and request.method == "PATCH":
            target = self.incidents.get(request.path.rsplit("/", 1)[1])
            if target is None:
                return Answer(404, {"error": {"message": "No Record found"}}), 0.0
            for key, value in (request.body or {}).items():
                if key in ("comments", "work_notes"):
                    target[key].append(value)
                else:
                    target[key] = value
            return Answer(200, {"result": _fields(target, request.query)}), 0.0
        return Answer(404, {"error": {"message": "no such path"}}), 0.0


def _correlation_query(query: str) -> str | None:
    if not query:
        return None
    field, _, value = query.partition("=")
    if field != "correlation_id":
        raise ValueError(f"the fake only queries by correlation_id, not {field!r}")
    return value


def _fields(record: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    wanted = [f for f in query.get("sysparm_fields", "").split(",") if f]
    shown = {k: v for k, v in record.items() if k != "created_at"}
    return {k: shown.get(k, "") for k in wanted} if wanted else shown


class FakeJira(FakeDesk):
    """Jira Service Management's customer requests: create, search (``searchTerm``), comment."""

    name = "fake-jira"
    REQUESTS = "/rest/servicedeskapi/request"

    def __init__(
        self,
        *,
        username: str = "itbot@example.org",
        password: str = "api-token",
        service_desk_id: str = "4",
        project_key: str = "HD",
        latency: float = 0.0,
    ) -> None:
        super().__init__(username=username, password=password, latency=latency)
        self.service_desk_id = service_desk_id
        self.project_key = project_key
        self.issues: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(10001)

    def summaries(self) -> Counter[str]:
        """How many requests were created per summary."""
        with self.lock:
            return Counter(str(i["summary"]) for i in self.issues.values())

    def handle(self, request: Request) -> tuple[Answer, float]:
        """Create, search and comment on requests."""
        if request.path == self.REQUESTS and request.method == "POST":
            body = request.body if isinstance(request.body, dict) else {}
            fields = body.get("requestFieldValues") or {}
            if str(body.get("serviceDeskId")) != self.service_desk_id or not body.get("requestTypeId"):
                return Answer(400, {"errorMessage": "unknown service desk or request type"}), 0.0
            if not fields.get("summary"):
                return Answer(400, {"errorMessage": "summary is required"}), 0.0
            issue_id = next(self._ids)
            key = f"{self.project_key}-{issue_id - 10000}"
            issue = {
                "issueId": str(issue_id),
                "issueKey": key,
                "summary": fields["summary"],
                "description": fields.get("description", ""),
                "requestTypeId": body["requestTypeId"],
                "comments": [],
            }
            self.issues[key] = issue
            return Answer(201, _jira_request(issue)), self._take_slow_create()
        if request.path == self.REQUESTS and request.method == "GET":
            term = request.query.get("searchTerm", "").lower()
            desk = request.query.get("serviceDeskId")
            found = [
                _jira_request(i)
                for i in self.issues.values()
                if term in i["summary"].lower() and (desk is None or desk == self.service_desk_id)
            ]
            return Answer(200, {"size": len(found), "start": 0, "isLastPage": True, "values": found}), 0.0
        parts = request.path.removeprefix(self.REQUESTS + "/").split("/")
        if request.method == "POST" and len(parts) == 2 and parts[1] == "comment":
            commented = self.issues.get(parts[0])
            if commented is None:
                return Answer(404, {"errorMessage": "Request does not exist"}), 0.0
            body = request.body if isinstance(request.body, dict) else {}
            comment = {
                "id": str(len(commented["comments"]) + 1),
                "body": body.get("body"),
                "public": body.get("public"),
            }
            commented["comments"].append(comment)
            return Answer(201, comment), 0.0
        return Answer(404, {"errorMessage": "no such path"}), 0.0


def _jira_request(issue: dict[str, Any]) -> dict[str, Any]:
    return {
        "issueId": issue["issueId"],
        "issueKey": issue["issueKey"],
        "requestTypeId": issue["requestTypeId"],
        "requestFieldValues": [
            {"fieldId": "summary", "label": "Summary", "value": issue["summary"]},
            {"fieldId": "description", "label": "Description", "value": issue["description"]},
        ],
    }


class FakeWebhook(FakeDesk):
    """A webhook receiver: ``POST`` anything; each ``Idempotency-Key`` is kept once."""

    name = "fake-webhook"

    def __init__(self, *, token: str = "", latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.token = token
        self.received: dict[str, dict[str, Any]] = {}

    def handle(self, request: Request) -> tuple[Answer, float]:
        """Keep the body under its key (a repeated key changes nothing) and answer with an id."""
        if request.method != "POST":
            return Answer(405, {"error": "POST only"}), 0.0
        if self.token and request.headers.get("authorization") != f"Bearer {self.token}":
            return Answer(401, {"error": "unauthorized"}), 0.0
        key = request.headers.get("idempotency-key", "")
        if not key:
            return Answer(400, {"error": "Idempotency-Key required"}), 0.0
        entry = self.received.setdefault(
            key,
            {
                "id": f"wh-{len(self.received) + 1}",
                "topic": request.headers.get("x-itbot-topic"),
                "body": request.body,
            },
        )
        return Answer(200, {"id": entry["id"]}), self._take_slow_create()


# -- what tests enqueue, and the twins of the forwarder, a chat sender and the clock -----------------


def ticket_payload(number: str, **overrides: Any) -> dict[str, Any]:
    """A ``ticket.created`` payload as escalation enqueues it (scrubbed already)."""
    payload: dict[str, Any] = {
        "number": number,
        "summary": "Epic keeps logging me out on the WOW",
        "description": "Logged out every few minutes since the morning. Restarted the WOW already.",
        "priority": 2,
        "priority_label": "high",
        "category": "ehr",
        "system": "Epic",
        "location": "4 West",
        "device": "WOW-4W-12",
        "requester": "U024BE7LH",
        "channel": "slack",
        "status": "new",
        "created_at": "2026-11-23T03:12:00+00:00",
        "affected_count": 1,
        "url": f"https://itbot.example.org/tickets/{number}",
    }
    payload.update(overrides)
    return payload


def comment_payload(
    number: str, text: str, *, author_role: str = "requester", author: str = ""
) -> dict[str, Any]:
    """A ``ticket.comment`` payload."""
    return {"number": number, "author_role": author_role, "author": author, "text": text}


def status_payload(number: str, status: str, note: str = "") -> dict[str, Any]:
    """A ``ticket.status`` payload."""
    return {"number": number, "status": status, "note": note}


class FakeClock:
    """The worker's clock for tests: real time plus the jumps a test makes, so a test moves through a
    ten-minute outage without sleeping, and messages enqueued meanwhile are due as they would be."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> datetime:
        """Jump forward by ``seconds``; the new time."""
        self.offset += timedelta(seconds=seconds)
        return self()

    def advance_to(self, when: datetime) -> datetime:
        """Jump forward to ``when`` (no jump if it has passed); the new time."""
        gap = when - self()
        if gap > timedelta(0):
            self.offset += gap
        return self()


@dataclass(frozen=True)
class Sent:
    """One message a ``RecordingSender`` posted."""

    reply_to: dict[str, Any]
    text: str
    actions: list[str]
    ticket_number: str
    kind: str
    ref: str


class RecordingSender:
    """The in-memory twin of a ``ChatSender``: keeps what it was asked to post; can be told to fail."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.sent: list[Sent] = []
        self.failures: list[Exception] = []
        self._refs = itertools.count(1)

    def send(
        self,
        *,
        reply_to: Mapping[str, Any],
        text: str,
        actions: Sequence[str],
        ticket_number: str,
        kind: str,
    ) -> str:
        """Record the message (or raise the next scripted failure); a ref like Slack's ``ts``."""
        if self.failures:
            raise self.failures.pop(0)
        ref = f"{self.channel}-{next(self._refs)}"
        self.sent.append(Sent(dict(reply_to), text, list(actions), ticket_number, kind, ref))
        return ref


class InMemoryForwarder:
    """The in-memory twin of the HTTP forwarder: a service desk that keeps records in a dict."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.follow_ups: list[tuple[str, str, dict[str, Any]]] = []
        self.failures: list[Exception] = []

    def forward(self, message: OutboxMessage, *, parent_ref: str) -> str:
        """Create a record once per idempotency key, or attach a follow-up to ``parent_ref``."""
        if self.failures:
            raise self.failures.pop(0)
        if message.topic == "ticket.created":
            record = self.records.setdefault(message.idempotency_key, {"ref": f"REC-{len(self.records) + 1}"})
            record["payload"] = dict(message.payload)
            return str(record["ref"])
        self.follow_ups.append((message.topic, parent_ref, dict(message.payload)))
        return parent_ref

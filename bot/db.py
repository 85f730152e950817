"""The database: an engine and sessions built from ``Settings``, and migrations run to head.

SQLite (the default, a file in ``ITBOT_HOME``) gets WAL and enforced foreign keys; PostgreSQL is
reached through psycopg 3 (``postgresql+psycopg://``). Nothing here runs at import time: the edge
(``create_app``, the CLI) calls ``create_db_engine`` and ``init_db`` with its settings.

**A database that hangs or is gone never holds a request for long.** Every wait is bounded: a new
connection (``db_connect_timeout_seconds``), a statement (``db_statement_timeout_seconds``; SQLite:
the wait for a lock), a free pooled connection (``db_pool_timeout_seconds``). And each engine has a
``DatabaseHealth``: once a connection could not be made (refused, timed out, dropped), new
connections fail at once with ``DatabaseUnavailable`` (an ``OperationalError``, so every caller's
existing fallback applies) for ``db_retry_seconds``; then one is tried again, and the first that
succeeds ends the outage. ``/healthz`` asks it (``DatabaseHealth.check``: one probe at a time,
bounded, cached).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot.config import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

SessionFactory = Callable[[], Session]


HealthState = Literal["ok", "unreachable"]


class DatabaseUnavailable(OperationalError):
    """The database is known not to answer right now: raised at once instead of trying again."""

    def __init__(self, reason: str) -> None:
        super().__init__(None, None, ConnectionError(reason))


class DatabaseHealth:
    """What this process knows of its database, and the circuit breaker for its new connections.

    ``failed`` opens the breaker: ``admit`` then refuses new connections for ``retry_seconds``, after
    which it lets one through (and refuses the rest for another ``retry_seconds``). ``succeeded``
    (a connection was made) closes it.
    """

    def __init__(
        self,
        *,
        retry_seconds: float,
        probe_timeout: float,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.retry_seconds = retry_seconds
        self.probe_timeout = probe_timeout
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._down = False
        self._retry_at = 0.0
        self.reason = ""
        self._checked: tuple[float, HealthState] | None = None
        self._probe: threading.Thread | None = None
        self._probe_done = threading.Event()
        self._probe_result: HealthState = "ok"

    @property
    def down(self) -> bool:
        """True while the last attempt to reach the database failed."""
        return self._down

    def failed(self, reason: str) -> None:
        """The database could not be reached (``reason``: the error's type, never its text)."""
        with self._lock:
            self._down = True
            self.reason = reason
            self._retry_at = self._clock() + self.retry_seconds
            self._checked = (self._clock(), "unreachable")

    def succeeded(self) -> None:
        """A connection was made: the database answers again."""
        with self._lock:
            self._down = False
            self.reason = ""

    def admit(self) -> bool:
        """Whether a new connection may be tried now (always, unless the database is down)."""
        with self._lock:
            if not self._down:
                return True
            now = self._clock()
            if now < self._retry_at:
                return False
            self._retry_at = now + self.retry_seconds  # this one tries; the others wait for it
            return True

    def check(self, engine: Engine) -> HealthState:
        """ "ok" when the database answers ``select 1`` within ``probe_timeout``, else "unreachable".

        One probe at a time runs, in a thread of its own; a caller waits for it at most
        ``probe_timeout``, and the answer is reused for ``cache_seconds``, so health checks cannot
        pile up on a hung database.
        """
        with self._lock:
            if self._checked is not None and self._clock() - self._checked[0] < self.cache_seconds:
                return self._checked[1]
            if self._probe is None or not self._probe.is_alive():
                self._probe_done = threading.Event()
                self._probe = threading.Thread(
                    target=self._run_probe, args=(engine, self._probe_done), name="db-health", daemon=True
                )
                self._probe.start()
            done = self._probe_done
        if done.wait(self.probe_timeout):
            return self._probe_result
        self.failed("HealthCheckTimeout")
        return "unreachable"

    def _run_probe(self, engine: Engine, done: threading.Event) -> None:
        result: HealthState = "unreachable"
        try:
            with engine.connect() as connection:
                connection.execute(text("select 1"))
            result = "ok"
        except Exception as exc:  # any failure means the same to a health check
            self.failed(type(exc).__name__)
        with self._lock:
            self._probe_result = result
            self._checked = (self._clock(), result)
            if result == "ok":
                self._down = False
                self.reason = ""
        done.set()


_HEALTH: weakref.WeakKeyDictionary[Engine, DatabaseHealth] = weakref.WeakKeyDictionary()


def database_health(engine: Engine) -> DatabaseHealth:
    """The ``DatabaseHealth`` of an engine made by ``create_db_engine`` (a fresh one for any other)."""
    found = _HEALTH.get(engine)
    if found is None:
        found = _HEALTH[engine] = DatabaseHealth(retry_seconds=0.0, probe_timeout=1.0, cache_seconds=0.0)
    return found


def _watch(engine: Engine, health: DatabaseHealth) -> None:
    """Connect ``health`` to ``engine``: refuse new connections while it is down, learn from each."""

    def before_connect(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
        if not health.admit():
            raise DatabaseUnavailable(f"database unavailable ({health.reason}); not retried yet")

    def on_error(context: ExceptionContext) -> None:
        # Only a connection that could not be made, or was lost, says the database is gone; a lock
        # wait, a full disk or a constraint says nothing about the next connection.
        if context.connection is None or context.is_disconnect:
            health.failed(type(context.original_exception).__name__)

    event.listen(engine, "do_connect", before_connect)
    event.listen(engine, "handle_error", on_error)
    event.listen(engine, "connect", lambda _dbapi, _record: health.succeeded())
    _HEALTH[engine] = health


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # WAL makes NORMAL durable across application crashes; only an OS crash can lose the last
            # commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        finally:
            cursor.close()

    return set_pragmas


def create_db_engine(settings: Settings, *, pool_size: int | None = None) -> Engine:
    """An engine for ``settings.sqlalchemy_url``, every wait bounded (see the module docstring).

    ``pool_size`` (when given) caps the engine at that many connections, for a writer of its own
    that must never wait for the requests' pool.

    For SQLite the database's folder is created, every connection gets WAL, foreign keys and a busy
    timeout, and connections may be used from the server's worker threads. For PostgreSQL,
    connections are checked before use (a restarted server does not fail the next request) and get a
    connect timeout and a statement timeout, unless the URL sets its own.
    """
    url = make_url(settings.sqlalchemy_url)
    health = DatabaseHealth(
        retry_seconds=settings.db_retry_seconds,
        probe_timeout=settings.db_health_timeout_seconds,
        cache_seconds=settings.db_health_cache_seconds,
    )
    if url.get_backend_name() == "sqlite":
        in_memory = not url.database or url.database == ":memory:"
        if not in_memory:
            Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
        lock_wait = settings.db_statement_timeout_seconds
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": lock_wait},
            hide_parameters=True,
            # An in-memory database keeps one connection a thread: it has no pool to wait for.
            **({} if in_memory else _pool_options(settings, pool_size)),
        )
        event.listen(engine, "connect", _sqlite_pragmas(int(lock_wait * 1000)))
        _watch(engine, health)
        return engine
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        if "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = settings.db_connect_timeout_seconds
        statement_ms = int(settings.db_statement_timeout_seconds * 1000)
        # The URL's own options come last, so a statement_timeout set there wins.
        options = url.query.get("options", "")
        own = " ".join(options) if isinstance(options, tuple) else options
        connect_args["options"] = f"-c statement_timeout={statement_ms} {own}".strip()
    engine = create_engine(
        url,
        connect_args=connect_args,
        pool_pre_ping=True,
        hide_parameters=True,
        **_pool_options(settings, pool_size),
    )
    _watch(engine, health)
    return engine


def _pool_options(settings: Settings, pool_size: int | None) -> dict[str, Any]:
    """A pooled engine's bounded wait for a free connection, and its size when ``pool_size`` is given."""
    options: dict[str, Any] = {"pool_timeout": settings.db_pool_timeout_seconds}
    if pool_size is not None:
        options.update(pool_size=pool_size, max_overflow=0)
    return options


def unreachable_message(settings: Settings, error: BaseException) -> str:
    """One line for a person starting itbot: which database could not be reached (password masked),
    what the driver said (its first line), and what to check."""
    url = make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)
    cause = getattr(error, "orig", None) or error
    said = (str(cause).strip().splitlines() or [""])[0][:200]
    detail = f"{type(cause).__name__}: {said}" if said else type(cause).__name__
    return (
        f"can't reach the database at {url} ({detail}); check DATABASE_URL and that the database "
        "is running and accepts connections from this host."
    )


def session_factory(engine: Engine) -> SessionFactory:
    """A callable that opens a new ``Session`` on ``engine``; objects stay readable after commit."""

    def open_session() -> Session:
        return Session(engine, expire_on_commit=False)

    return open_session


def alembic_config(settings: Settings) -> Config:
    """The Alembic configuration for itbot's packaged migrations (no ``alembic.ini`` needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a "%" in a password.
    config.set_main_option("sqlalchemy.url", settings.sqlalchemy_url.replace("%", "%%"))
    return config


def init_db(settings: Settings, *, engine: Engine | None = None) -> None:
    """Bring the database named by ``settings`` up to the newest schema (Alembic ``upgrade head``).

    Safe to run on every start: an up-to-date database is left as it is. When ``engine`` is given its
    connection is used (and its SQLite pragmas apply); otherwise a short-lived engine is made.
    """
    own_engine = engine is None
    active = engine if engine is not None else create_db_engine(settings)
    try:
        with active.begin() as connection:
            config = alembic_config(settings)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if own_engine:
            active.dispose()

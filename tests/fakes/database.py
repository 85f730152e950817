"""Databases that misbehave, over real TCP on 127.0.0.1, for the fault tests.

* ``SwitchableProxy``: a TCP proxy in front of a real server (PostgreSQL) that a test can ``cut``
  (open connections dropped, new ones refused: the port is closed), ``hang`` (open connections
  dropped, new ones accepted and never answered: a black hole) and ``restore`` on the same port.
* ``BlackHole``: a listener that accepts every connection and never says a word, as a database
  host that hangs does; ``connections`` counts what it accepted.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

_POLL = 0.05


def _listen(port: int = 0) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    listener.settimeout(_POLL)
    return listener


class SwitchableProxy:
    """Forwards 127.0.0.1:``port`` to ``target``; ``cut`` and ``restore`` switch the database off and on."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._acceptor: threading.Thread | None = None
        self._hanging = False
        self._held: list[socket.socket] = []
        self.port = 0
        self.swallowed = 0  # connections accepted while hanging

    def __enter__(self) -> SwitchableProxy:
        self.restore()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.cut()

    def hang(self) -> None:
        """Drop the open connections; accept new ones and never answer them (until ``restore``)."""
        self._hanging = True
        self._drop()

    def restore(self) -> None:
        """Listen again (on the same port once one was chosen) and forward new connections."""
        self._hanging = False
        self._drop(held_only=True)
        if self._listener is not None:
            return
        self._listener = _listen(self.port)
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._acceptor = threading.Thread(
            target=self._accept, args=(self._listener, self._stop), name="db-proxy", daemon=True
        )
        self._acceptor.start()

    def cut(self) -> None:
        """Close the port and every forwarded connection: the database is unreachable."""
        self._stop.set()
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._drop()

    def _drop(self, *, held_only: bool = False) -> None:
        with self._lock:
            doomed, self._held = self._held, []
            if not held_only:
                doomed, self._open = doomed + self._open, []
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                client, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._hanging:
                with self._lock:
                    self._held.append(client)
                    self.swallowed += 1
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class BlackHole:
    """Accepts connections on 127.0.0.1:``port`` and never answers; closes them all on exit."""

    def __init__(self) -> None:
        self._listener = _listen()
        self.port = int(self._listener.getsockname()[1])
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="black-hole", daemon=True)

    @property
    def connections(self) -> int:
        """How many connections it has accepted so far."""
        with self._lock:
            return len(self._held)

    def __enter__(self) -> BlackHole:
        self._thread.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            for sock in self._held:
                sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._held.append(client)

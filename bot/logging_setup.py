"""Logging as events with fields: ``event key=value ...``. Callers log ids and numbers, never message text."""

from __future__ import annotations

import logging
import sys

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class FieldsFormatter(logging.Formatter):
    """Formats a record as its event name followed by the ``extra`` fields it was given."""

    def format(self, record: logging.LogRecord) -> str:
        """One line: time, level, logger, event, then ``key=value`` for each extra field."""
        fields = " ".join(f"{k}={v!r}" for k, v in vars(record).items() if k not in _STANDARD)
        line = f"{self.formatTime(record)} {record.levelname} {record.name} {record.getMessage()}"
        if fields:
            line += " " + fields
        if record.exc_info:
            # The exception type and where, not its message: messages can carry user text.
            exc_type = record.exc_info[0].__name__ if record.exc_info[0] else "Exception"
            line += f" exc_type={exc_type}"
        return line


def configure_logging(*, verbose: bool = False) -> None:
    """Send itbot's logs to stderr as field lines (INFO with ``verbose``, else WARNING)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(FieldsFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = logging.INFO if verbose else logging.WARNING
    handler.setLevel(level)
    root.setLevel(level)
    # Libraries that log at DEBUG on their own loggers (bm25s), or their set-up at INFO (alembic's
    # plugins, at every start), stay quiet unless asked.
    for noisy in ("bm25s", "httpx", "httpcore", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))

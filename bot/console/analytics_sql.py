"""Expressions the analytics statements share, spelled for SQLite or PostgreSQL as the session's
database needs them (stored times, UTC days, time arithmetic)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Interval, and_, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session


def dialect(session: Session) -> str:
    """The name of the session's database dialect (``sqlite``, ``postgresql``)."""
    return session.get_bind().dialect.name


def in_period(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    """``column`` from ``start`` (included) to ``end`` (excluded)."""
    return and_(column >= start, column < end)


def utc_day(session: Session, column: Any) -> Any:
    """The UTC day of a stored time: SQLite keeps UTC text (its first ten characters are the day);
    PostgreSQL converts the aware time to UTC first."""
    if dialect(session) == "sqlite":
        return func.substr(column, 1, 10)
    return cast(func.timezone("UTC", column), Date)


def later(session: Session, column: Any, delta: timedelta) -> Any:
    """``column`` plus ``delta``, comparable with stored times on both backends."""
    if dialect(session) == "sqlite":
        seconds = int(delta.total_seconds())
        return func.strftime("%Y-%m-%d %H:%M:%f", column, f"+{seconds} seconds")
    return column + literal(delta, type_=Interval())


def seconds_between(session: Session, end: Any, start: Any) -> Any:
    """The seconds from ``start`` to ``end`` (two stored times), as a number."""
    if dialect(session) == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


def as_date(value: object) -> date:
    """A day as either database returns it (a date, a datetime or ``YYYY-MM-DD`` text)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])

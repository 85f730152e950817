"""The analytics rollup's tables: per settled UTC day, the day's questions counted by channel,
decision and article, with the day's measured deflection, and per day two change counters.

``analytics_day`` has a row per day that anything was written to: ``changes`` is raised by database
triggers (migration 0014) whenever an interaction or a ticket of that day or of the next day is
inserted, changed or deleted (the next day's rows decide this day's deflection), by whatever code
or process wrote it; ``ticket_changes`` whenever a ticket opened that day or one of its events
changes (its times). ``rolled`` is the ``changes`` value the day's ``analytics_day_group`` rows were
counted at; the rows are used only while the two are equal. Days are ``YYYY-MM-DD`` text so that
both databases compare them alike.
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class AnalyticsDay(SQLModel, table=True):
    """The ``analytics_day`` table: one UTC day's change counter and the count its rollup is of."""

    __tablename__ = "analytics_day"

    day: str = Field(primary_key=True, max_length=10)
    changes: int = Field(default=0)
    ticket_changes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    rolled: int | None = Field(default=None)


class AnalyticsDayGroup(SQLModel, table=True):
    """The ``analytics_day_group`` table: one settled day's questions of one channel, decision and
    first-cited article ("" for none), with their feedback and deflection counts."""

    __tablename__ = "analytics_day_group"

    day: str = Field(primary_key=True, max_length=10)
    channel: str = Field(primary_key=True, max_length=32)
    decision: str = Field(primary_key=True, max_length=16)
    article: str = Field(primary_key=True, max_length=512)
    questions: int
    fixed: int
    stuck: int
    deflected: int
    confirmed: int

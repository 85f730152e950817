"""``GET /console/analytics`` (viewer and up): what the bot did for staff, and IT's tickets, over a
date range, with charts and a CSV export of each table (``/console/analytics/<table>.csv``).

The figures come from ``bot.console.analytics_queries`` (stored, scrubbed rows only); the charts are
drawn in the browser by the Chart.js build served from ``/console/static`` (no CDN). Every export
is written to the audit log.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from bot.console import analytics_queries as q
from bot.console.analytics import (
    CsvTable,
    Period,
    PeriodError,
    article_table,
    daily_chart,
    daily_table,
    duration_text,
    gap_table,
    outcome_chart,
    outcome_table,
    period_from,
    share_text,
    ticket_summary,
    ticket_table,
)
from bot.console.auth import ConsoleRoute, ViewerDep
from bot.console.gap_cache import group_or_alone
from bot.console.gaps import Asked, Gap
from bot.console.pages import page
from bot.console.queries import record_event
from bot.console.routes import csv_cell
from bot.deps import AssistantDep, AssistantLike, SessionDep, SettingsDep
from bot.interactions.models import utcnow

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

TOP_ARTICLES = 10
TOP_GAPS = 10
GAP_QUESTIONS = 500
TABLES = ("daily", "outcomes", "articles", "gaps", "tickets")

StartQuery = Annotated[str, Query(max_length=10)]
EndQuery = Annotated[str, Query(max_length=10)]


def _top_gaps(
    request: Request, session: Session, assistant: AssistantLike, threshold: float, period: Period
) -> list[Gap]:
    memo = request.app.state.analytics_memo
    found = q.unanswered_questions(
        session=session, start=period.start, end=period.end, limit=GAP_QUESTIONS, memo=memo
    )
    asked = [Asked(text=u.text, who=u.who, outcome=u.outcome) for u in found if u.text.strip()]
    return group_or_alone(request.app.state, assistant, asked, threshold=threshold)[:TOP_GAPS]


def _period_or_400(start: str, end: str) -> Period:
    try:
        return period_from(start, end, today=utcnow().date())
    except PeriodError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


@router.get("/console/analytics")
def analytics_page(
    request: Request,
    signed: ViewerDep,
    session: SessionDep,
    assistant: AssistantDep,
    settings: SettingsDep,
    start: StartQuery = "",
    end: EndQuery = "",
) -> Response:
    """The analytics of the days from ``start`` to ``end`` (``YYYY-MM-DD``, UTC; by default the last
    30 days): questions per day by channel, outcomes and measured deflection, top articles, top
    gaps, and tickets with median and 90th-percentile times. A bad range shows the form with why."""
    try:
        period = period_from(start, end, today=utcnow().date())
    except PeriodError as exc:
        refused = {"error": str(exc), "start": start, "end": end}
        return page(request, "analytics.html", signed, refused, status_code=400)
    memo = request.app.state.analytics_memo
    counted = q.figures(session=session, start=period.start, end=period.end, now=utcnow(), memo=memo)
    days, found, deflected = counted.days, counted.outcomes, counted.deflection
    articles = counted.articles[:TOP_ARTICLES]
    tickets = ticket_summary(q.ticket_times(session=session, start=period.start, end=period.end, memo=memo))
    gaps = _top_gaps(request, session, assistant, settings.console_gap_similarity, period)
    titles = {a.article: _title(assistant, a.article) for a in articles}
    context: dict[str, Any] = {
        "period": period,
        "start": period.first.isoformat(),
        "end": period.last.isoformat(),
        "outcomes": found,
        "deflection": deflected,
        "articles": articles,
        "titles": titles,
        "gaps": gaps,
        "tickets": tickets,
        "channels": q.channels_of(days),
        "daily": days,
        "charts": {"daily": daily_chart(period, days), "outcomes": outcome_chart(found, deflected)},
        "share": share_text,
        "duration": duration_text,
    }
    return page(request, "analytics.html", signed, context)


def _title(assistant: AssistantLike, article_id: str) -> str:
    found = assistant.article(article_id)
    return found.title if found is not None else ""


@router.get("/console/analytics/{table}.csv")
def analytics_csv(
    request: Request,
    table: str,
    signed: ViewerDep,
    session: SessionDep,
    assistant: AssistantDep,
    settings: SettingsDep,
    start: StartQuery = "",
    end: EndQuery = "",
) -> Response:
    """One of the page's tables (``daily``, ``outcomes``, ``articles``, ``gaps``, ``tickets``) for the
    same range, as CSV: counts, durations and article ids only, never question text. Audited."""
    if table not in TABLES:
        raise HTTPException(status_code=404, detail="No such table.")
    period = _period_or_400(start, end)
    memo = request.app.state.analytics_memo
    rows: CsvTable
    if table == "daily":
        counted = q.figures(session=session, start=period.start, end=period.end, now=utcnow(), memo=memo)
        rows = daily_table(period, counted.days)
    elif table == "outcomes":
        counted = q.figures(session=session, start=period.start, end=period.end, now=utcnow(), memo=memo)
        rows = outcome_table(counted.outcomes, counted.deflection)
    elif table == "articles":
        counted = q.figures(session=session, start=period.start, end=period.end, now=utcnow(), memo=memo)
        rows = article_table(counted.articles[:TOP_ARTICLES])
    elif table == "gaps":
        rows = gap_table(_top_gaps(request, session, assistant, settings.console_gap_similarity, period))
    else:
        times = q.ticket_times(session=session, start=period.start, end=period.end, memo=memo)
        rows = ticket_table(ticket_summary(times))
    header, body = rows
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([csv_cell(cell) for cell in row] for row in body)
    span = f"{period.first.isoformat()}..{period.last.isoformat()}"
    record_event(
        session=session,
        actor=signed.name,
        action="analytics_exported",
        target=table,
        detail=span,
        address=signed.address,
    )
    name = f"itbot-{table}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )

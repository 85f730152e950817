"""The analytics queries on SQLite and PostgreSQL over a known fixture, with figures worked out by hand
(each row of ``analytics_fixture`` says why it counts as it does)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session

from bot.console.analytics_queries import (
    ArticleUse,
    DayCount,
    Deflection,
    Outcomes,
    UnansweredQuestion,
    deflection,
    outcomes,
    questions_per_day,
    ticket_times,
    top_articles,
    unanswered_questions,
)
from tests.integration.analytics_fixture import END, EPIC, LATER, PRINTING, START, T0, seed


def test_questions_are_counted_per_utc_day_and_channel(session: Session) -> None:
    seed(session)
    assert questions_per_day(session=session, start=START, end=END) == [
        DayCount(date(2026, 3, 2), "slack", 2),
        DayCount(date(2026, 3, 2), "web", 2),
        DayCount(date(2026, 3, 3), "slack", 2),
        DayCount(date(2026, 3, 3), "teams", 2),
        DayCount(date(2026, 3, 4), "slack", 1),
        DayCount(date(2026, 3, 4), "teams", 1),
        DayCount(date(2026, 3, 4), "web", 2),
    ]


def test_outcomes_count_each_decision_of_the_period_only(session: Session) -> None:
    seed(session)
    assert outcomes(session=session, start=START, end=END) == Outcomes(
        questions=12, answered=8, clarified=1, escalated=2, outage=1
    )


def test_deflection_counts_fixed_it_and_people_who_did_not_come_back_within_a_day(
    session: Session,
) -> None:
    seed(session)
    assert deflection(session=session, start=START, end=END, now=LATER) == Deflection(
        answered=8, deflected=3, confirmed=1, pending=0, judged=12
    )


def test_an_answer_whose_day_is_still_running_is_pending_not_deflected(session: Session) -> None:
    seed(session)
    # At the end of the period, u7's answer (day 3, 02:00) has nobody back yet and 2 h to go.
    found = deflection(session=session, start=START, end=END, now=END)
    assert found == Deflection(answered=8, deflected=2, confirmed=1, pending=1, judged=11)


def test_top_articles_rank_by_answers_then_id_with_feedback(session: Session) -> None:
    seed(session)
    assert top_articles(session=session, start=START, end=END, limit=10) == [
        ArticleUse(EPIC, answers=4, fixed=0, stuck=1),
        ArticleUse(PRINTING, answers=4, fixed=1, stuck=0),
    ]
    assert top_articles(session=session, start=START, end=END, limit=1) == [
        ArticleUse(EPIC, answers=4, fixed=0, stuck=1)
    ]


def test_unanswered_questions_are_escalated_clarified_or_stuck_oldest_first(session: Session) -> None:
    seed(session)
    assert unanswered_questions(session=session, start=START, end=END, limit=100) == [
        UnansweredQuestion("wifi in the ed", "u9", "clarify"),
        UnansweredQuestion("printer still offline on 4 west", "u2", "escalate"),
        UnansweredQuestion("epic logs me out", "u5", "stuck"),
        UnansweredQuestion("pyxis will not read my finger", "u11", "escalate"),
    ]
    newest_two = unanswered_questions(session=session, start=START, end=END, limit=2)
    assert [q.text for q in newest_two] == ["epic logs me out", "pyxis will not read my finger"]


def test_ticket_times_are_seconds_to_first_agent_action_and_to_resolution(session: Session) -> None:
    seed(session)
    times = ticket_times(session=session, start=START, end=END)
    assert times.opened == 3
    assert [round(s, 3) for s in times.first_response_seconds] == [1800.0, 3600.0]
    assert [round(s, 3) for s in times.resolution_seconds] == [18000.0]


def test_an_empty_period_has_only_zeros(session: Session) -> None:
    seed(session)
    empty_start = T0 + timedelta(days=30)
    empty_end = empty_start + timedelta(days=1)
    assert questions_per_day(session=session, start=empty_start, end=empty_end) == []
    assert outcomes(session=session, start=empty_start, end=empty_end) == Outcomes(0, 0, 0, 0, 0)
    assert deflection(session=session, start=empty_start, end=empty_end, now=LATER) == Deflection(
        0, 0, 0, 0, 0
    )
    assert ticket_times(session=session, start=empty_start, end=empty_end).opened == 0

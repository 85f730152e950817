"""The analytics rollup on SQLite and PostgreSQL: settled days are counted once and read back with the
same figures, and any later write under a settled day (feedback, a backdated question, a ticket the
next day) is counted at the next read, whichever code wrote it."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.console.analytics_models import AnalyticsDay, AnalyticsDayGroup
from bot.console.analytics_queries import (
    Deflection,
    Figures,
    article_use,
    deflection,
    figures,
    outcomes,
    ticket_times,
    unanswered_questions,
)
from bot.console.analytics_rollup import AnalyticsMemo, day_groups, live_groups
from bot.interactions.models import Interaction, utcnow
from bot.interactions.queries import insert_interactions, record_feedback
from bot.tickets.models import AuthorRole, EventKind, Ticket, TicketCreate
from bot.tickets.queries import add_event, create_ticket
from tests.integration.analytics_fixture import END, EPIC, LATER, PRINTING, START, T0, seed

H = timedelta(hours=1)
D = timedelta(days=1)


def _figures(session: Session) -> Figures:
    return figures(session=session, start=START, end=END, now=LATER)


def _current_days(session: Session) -> set[str]:
    return {d.day for d in session.exec(select(AnalyticsDay)).all() if d.rolled == d.changes}


def test_settled_days_are_stored_once_and_read_back_with_the_same_figures(session: Session) -> None:
    seed(session)
    first = _figures(session)
    assert _current_days(session) >= {"2026-03-02", "2026-03-03", "2026-03-04"}
    assert session.exec(select(AnalyticsDayGroup)).all()
    assert _figures(session) == first
    assert first.deflection == Deflection(answered=8, deflected=3, confirmed=1, pending=0, judged=12)
    live = live_groups(session=session, start=START, end=END, now=LATER)
    assert sorted(day_groups(session=session, start=START, end=END, now=LATER), key=repr) == sorted(
        live, key=repr
    )


def test_feedback_clicked_after_a_day_was_stored_is_counted(session: Session) -> None:
    seed(session)
    before = _figures(session)
    teams_answer = session.exec(
        select(Interaction).where(Interaction.user_id == "u4", Interaction.decision == "answer")
    ).one()
    record_feedback(session=session, interaction_id=teams_answer.id, helpful=True)
    after = _figures(session)
    assert after.deflection.confirmed == before.deflection.confirmed + 1
    assert after.deflection.deflected == before.deflection.deflected  # it was deflected already
    epic = next(a for a in after.articles if a.article == EPIC)
    assert epic.fixed == 1


def test_a_question_stored_later_for_a_settled_day_is_counted(session: Session) -> None:
    seed(session)
    assert outcomes(session=session, start=START, end=END, now=LATER).questions == 12
    late = Interaction(
        channel="web", user_id="u40", question="late", decision="escalate", created_at=T0 + 3 * H
    )
    insert_interactions(session=session, rows=[late])
    assert outcomes(session=session, start=START, end=END, now=LATER).escalated == 3


def test_a_ticket_opened_the_next_day_undoes_a_stored_deflection(session: Session) -> None:
    seed(session)
    assert deflection(session=session, start=START, end=END, now=LATER).deflected == 3
    # u4's answer (day 2, 02:00) had nothing after it; a ticket 23 h later means it did not settle it.
    ticket = create_ticket(
        session=session, data=TicketCreate(summary="epic", requester="u4", channel="teams")
    )
    ticket.created_at = T0 + D + 25 * H
    session.add(ticket)
    session.commit()
    assert deflection(session=session, start=START, end=END, now=LATER).deflected == 2


def test_partial_days_at_the_edges_are_counted_live(session: Session) -> None:
    seed(session)
    # From day 1 at 02:00 to day 3 at 02:00: u1's confirmed answer (01:00) is outside, u7's (day 3 02:00)
    # too; the stored middle day is read whole.
    found = figures(session=session, start=START + 2 * H, end=END - D + 2 * H, now=LATER)
    assert found.outcomes.questions == 8
    assert sum(d.questions for d in found.days) == 8


def test_today_is_counted_live_and_articles_count_every_day(session: Session) -> None:
    seed(session)
    now = utcnow()
    insert_interactions(
        session=session,
        rows=[
            Interaction(channel="web", user_id="u50", question="q", decision="answer", top_article=PRINTING)
        ],
    )
    use = article_use(session=session, now=now + H)
    assert use[PRINTING][0] == 6  # five in the fixture and one just now
    assert article_use(session=session, now=now + H) == use


def test_a_memo_gives_the_same_figures_and_follows_every_write(session: Session) -> None:
    seed(session)
    memo = AnalyticsMemo()
    plain = _figures(session)
    assert figures(session=session, start=START, end=END, now=LATER, memo=memo) == plain
    assert figures(session=session, start=START, end=END, now=LATER, memo=memo) == plain
    teams_answer = session.exec(
        select(Interaction).where(Interaction.user_id == "u4", Interaction.decision == "answer")
    ).one()
    record_feedback(session=session, interaction_id=teams_answer.id, helpful=True)
    after = figures(session=session, start=START, end=END, now=LATER, memo=memo)
    assert after.deflection.confirmed == plain.deflection.confirmed + 1
    assert after == _figures(session)


def test_a_remembered_live_count_still_moves_pending_answers_on_as_time_passes(session: Session) -> None:
    seed(session)
    memo = AnalyticsMemo()
    # At the period's end u7's answer (day 3, 02:00) is pending; three hours later it is deflected,
    # though nothing was written in between.
    assert deflection(session=session, start=START, end=END, now=END, memo=memo).pending == 1
    later = deflection(session=session, start=START, end=END, now=END + 3 * H, memo=memo)
    assert later == deflection(session=session, start=START, end=END, now=END + 3 * H)
    assert later.pending == 0 and later.deflected == 3


def test_remembered_ticket_times_follow_a_new_agent_action_and_a_resolution(session: Session) -> None:
    seed(session)
    memo = AnalyticsMemo()
    before = ticket_times(session=session, start=START, end=END, memo=memo)
    assert before == ticket_times(session=session, start=START, end=END)
    # u12's ticket (day 3): resolved four hours after it was opened.
    ticket = session.exec(select(Ticket).where(Ticket.requester == "u12")).one()
    ticket.resolved_at = ticket.created_at + 4 * H
    session.add(ticket)
    session.commit()
    resolved = ticket_times(session=session, start=START, end=END, memo=memo)
    assert [round(s) for s in resolved.resolution_seconds] == [14400, 18000]
    # The anonymous ticket nobody touched gets its first agent action after 30 minutes.
    untouched = session.exec(select(Ticket).where(Ticket.requester == "")).one()
    add_event(
        session=session, ticket=untouched, kind=EventKind.ASSIGNED, author_role=AuthorRole.AGENT, author="ann"
    )
    session.commit()
    answered = ticket_times(session=session, start=START, end=END, memo=memo)
    assert answered == ticket_times(session=session, start=START, end=END)
    assert len(answered.first_response_seconds) == 3


def test_remembered_unanswered_questions_follow_a_new_one(session: Session) -> None:
    seed(session)
    memo = AnalyticsMemo()
    assert len(unanswered_questions(session=session, start=START, end=END, limit=100, memo=memo)) == 4
    late = Interaction(
        channel="web", user_id="u41", question="fax", decision="clarify", created_at=T0 + 4 * H
    )
    insert_interactions(session=session, rows=[late])
    found = unanswered_questions(session=session, start=START, end=END, limit=100, memo=memo)
    assert [q.text for q in found][:2] == ["wifi in the ed", "fax"]


def test_a_new_question_leaves_remembered_ticket_times_in_use(session: Session) -> None:
    seed(session)
    memo = AnalyticsMemo()
    before = ticket_times(session=session, start=START, end=END, memo=memo)
    late = Interaction(channel="web", user_id="u42", question="q", decision="escalate", created_at=T0 + 5 * H)
    insert_interactions(session=session, rows=[late])
    assert ticket_times(session=session, start=START, end=END, memo=memo) is before

"""A known week of interactions and tickets whose analytics are worked out by hand.

The period is 2026-03-02 00:00 to 2026-03-05 00:00 UTC (three days). Each row below says what it
is there to show; ``tests/integration/test_console_analytics_queries.py`` checks the exact figures.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from bot.interactions.models import Feedback, Interaction
from bot.interactions.queries import insert_interactions
from bot.tickets.models import AuthorRole, EventKind, TicketCreate
from bot.tickets.queries import add_event, create_ticket, get_ticket_by_number

T0 = datetime(2026, 3, 2, tzinfo=UTC)
START = T0
END = T0 + timedelta(days=3)
LATER = T0 + timedelta(days=10)
H = timedelta(hours=1)
D = timedelta(days=1)


def _asked(
    at: datetime,
    channel: str,
    who: str,
    decision: str,
    article: str | None = None,
    feedback: Feedback = Feedback.NONE,
    text: str = "printer on 4 west is offline",
) -> Interaction:
    return Interaction(
        channel=channel,
        user_id=who,
        question=text,
        decision=decision,
        top_article=article,
        top_score=0.8 if article else None,
        citations=[{"article": article, "score": 0.8}] if article else [],
        latency_ms=40,
        created_at=at,
        feedback=feedback,
        feedback_at=at + H if feedback is not Feedback.NONE else None,
    )


PRINTING = "printing/offline"
EPIC = "ehr/epic-timeout"


def interactions() -> list[Interaction]:
    """The fixture's questions (12 in the period, 3 outside it)."""
    return [
        _asked(T0 - H, "web", "u1", "answer", PRINTING),  # before the period: not counted
        _asked(T0 + 1 * H, "web", "u1", "answer", PRINTING, Feedback.HELPFUL),  # deflected, confirmed
        _asked(T0 + 2 * H, "slack", "u2", "answer", PRINTING),  # asked again 3 h later: not deflected
        _asked(T0 + 2 * H, "web", "u9", "clarify", text="wifi in the ed"),
        _asked(T0 + 5 * H, "slack", "u2", "escalate", text="printer still offline on 4 west"),
        _asked(T0 + D, "slack", "u10", "outage"),
        _asked(T0 + D + 1 * H, "slack", "u3", "answer", EPIC),  # a ticket 2 h later: not deflected
        _asked(T0 + D + 2 * H, "teams", "u4", "answer", EPIC),  # nothing after: deflected
        _asked(T0 + D + 4 * H, "teams", "u5", "answer", EPIC, Feedback.UNHELPFUL, "epic logs me out"),
        _asked(T0 + 2 * D + 1 * H, "web", "", "answer", PRINTING),  # nobody to follow: not deflected
        _asked(T0 + 2 * D + 2 * H, "slack", "u7", "answer", EPIC),  # asked again after 25 h: deflected
        _asked(T0 + 2 * D + 5 * H, "teams", "u11", "escalate", text="pyxis will not read my finger"),
        _asked(T0 + 2 * D + 23 * H, "web", "u6", "answer", PRINTING),  # again 23 h later, after the end
        _asked(T0 + 3 * D + 3 * H, "slack", "u7", "escalate"),  # after the period
        _asked(T0 + 3 * D + 22 * H, "web", "u6", "clarify"),  # after the period
    ]


def _ticket(session: Session, *, requester: str, channel: str, at: datetime) -> str:
    ticket = create_ticket(
        session=session,
        data=TicketCreate(summary="printer offline", requester=requester, channel=channel),
    )
    ticket.created_at = at
    ticket.updated_at = at
    session.add(ticket)
    session.flush()
    return ticket.number


def _agent_event(session: Session, number: str, kind: EventKind, at: datetime) -> None:
    ticket = get_ticket_by_number(session=session, number=number)
    assert ticket is not None
    event = add_event(session=session, ticket=ticket, kind=kind, author_role=AuthorRole.AGENT, author="ann")
    event.created_at = at
    session.add(event)
    session.flush()


def seed(session: Session) -> None:
    """Store the fixture: the interactions above and four tickets (three in the period).

    * u3's ticket (slack) 2 h after their answer: taken 30 min after opening, a reply 2 h after,
      resolved 5 h after: first response 1,800 s, resolution 18,000 s.
    * u12's (web) at day 3 00:00: a reply after 1 h, not resolved: first response 3,600 s.
    * an anonymous one at day 3 06:00 nobody touched.
    * one before the period (with an agent action), not counted.
    """
    insert_interactions(session=session, rows=interactions())
    early = _ticket(session, requester="u13", channel="web", at=T0 - 2 * H)
    _agent_event(session, early, EventKind.COMMENT, T0 - H)
    first = _ticket(session, requester="u3", channel="slack", at=T0 + D + 3 * H)
    _agent_event(session, first, EventKind.ASSIGNED, T0 + D + 3 * H + timedelta(minutes=30))
    _agent_event(session, first, EventKind.COMMENT, T0 + D + 5 * H)
    second = _ticket(session, requester="u12", channel="web", at=T0 + 2 * D)
    _agent_event(session, second, EventKind.COMMENT, T0 + 2 * D + H)
    _ticket(session, requester="", channel="web", at=T0 + 2 * D + 6 * H)
    resolved = get_ticket_by_number(session=session, number=first)
    assert resolved is not None
    resolved.resolved_at = T0 + D + 8 * H
    session.add(resolved)
    session.commit()

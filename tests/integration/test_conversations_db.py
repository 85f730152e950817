"""Conversations and deliveries on SQLite and PostgreSQL: the memory chat adapters share between
processes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from bot.conversations.models import MAX_TURNS, Turn
from bot.conversations.queries import (
    add_turns,
    claim_delivery,
    get_conversation,
    prune_deliveries,
    release_delivery,
)
from bot.db import session_factory
from bot.interactions.models import utcnow


def test_a_delivery_is_claimed_once(session: Session) -> None:
    assert claim_delivery(session=session, key="slack:event:Ev1", channel="slack") is True
    assert claim_delivery(session=session, key="slack:event:Ev1", channel="slack") is False
    assert claim_delivery(session=session, key="slack:event:Ev2", channel="slack") is True


def test_a_released_delivery_can_be_claimed_again(session: Session) -> None:
    claim_delivery(session=session, key="k", channel="slack")
    release_delivery(session=session, key="k")

    assert claim_delivery(session=session, key="k", channel="slack") is True


def test_old_claims_are_pruned_and_recent_ones_kept(session: Session) -> None:
    claim_delivery(session=session, key="old", channel="slack")
    later = utcnow() + timedelta(days=2)
    claim_delivery(session=session, key="recent", channel="slack")

    assert prune_deliveries(session=session, older_than=timedelta(days=1), now=later) == 2
    assert claim_delivery(session=session, key="recent", channel="slack") is True


def test_turns_are_appended_in_order_and_bounded(session: Session) -> None:
    for n in range(MAX_TURNS + 5):
        add_turns(
            session=session,
            channel="slack",
            thread_key="C1:1.1",
            user_id="U1",
            turns=[Turn(role="user", text=f"t{n}")],
        )

    row = get_conversation(session=session, channel="slack", thread_key="C1:1.1")
    assert row is not None
    assert len(row.turns) == MAX_TURNS
    assert row.turns[0]["text"] == "t5" and row.turns[-1]["text"] == f"t{MAX_TURNS + 4}"
    assert all(turn["at"] for turn in row.turns)


def test_turns_added_by_several_processes_at_once_are_all_kept(db_engine: Engine) -> None:
    sessions = session_factory(db_engine)

    def add(n: int) -> None:
        with sessions() as session:
            add_turns(
                session=session,
                channel="web",
                thread_key="web-abc",
                user_id="u",
                turns=[Turn(role="user", text=str(n))],
            )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(add, range(20)))

    with sessions() as session:
        row = get_conversation(session=session, channel="web", thread_key="web-abc")
    assert row is not None
    assert sorted(int(t["text"]) for t in row.turns) == list(range(20))

"""The interactions queries on real databases: SQLite and PostgreSQL, both migrated by Alembic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, SQLModel

# Every table on SQLModel.metadata, so the comparison below covers them all.
import bot.conversations.models
import bot.tickets.models
import bot.tickets.outbox_models  # noqa: F401
from bot.config import Settings
from bot.db import alembic_config, init_db
from bot.interactions.models import Feedback, Interaction, InteractionCreate, InteractionPublic
from bot.interactions.queries import (
    count_by_decision,
    create_interaction,
    get_interaction,
    list_interactions,
    record_feedback,
)


def make_interaction(**overrides: object) -> InteractionCreate:
    values: dict[str, object] = {
        "channel": "web",
        "user_id": "web-0001",
        "question": "epic keeps logging me out [NAME]",
        "decision": "answer",
        "top_article": "ehr/epic-session-timeout",
        "top_score": 0.81,
        "citations": [{"article": "ehr/epic-session-timeout", "score": 0.81}],
        "latency_ms": 42,
    }
    values.update(overrides)
    return InteractionCreate.model_validate(values)


def test_migrations_reach_head_and_match_every_model(db_engine: Engine, db_settings: Settings) -> None:
    init_db(db_settings, engine=db_engine)  # a second run is a no-op
    head = ScriptDirectory.from_config(alembic_config(db_settings)).get_current_head()
    with db_engine.connect() as connection:
        assert "interaction" in inspect(connection).get_table_names()
        assert connection.execute(text("select version_num from alembic_version")).scalar_one() == head
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diffs == []


def test_created_interaction_reads_back_whole(session: Session) -> None:
    created = create_interaction(session=session, data=make_interaction())
    session.expunge_all()

    row = get_interaction(session=session, interaction_id=created.id)

    assert row is not None
    assert len(row.id) == 36
    assert row.question == "epic keeps logging me out [NAME]"
    assert row.citations == [{"article": "ehr/epic-session-timeout", "score": 0.81}]
    assert row.feedback == Feedback.NONE
    assert row.feedback_at is None
    assert row.created_at.tzinfo is not None
    assert abs(row.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    public = InteractionPublic.model_validate(row)
    assert public.id == created.id


def test_unknown_interaction_is_none(session: Session) -> None:
    assert get_interaction(session=session, interaction_id="no-such-id") is None
    assert record_feedback(session=session, interaction_id="no-such-id", helpful=True) is None


def test_feedback_is_recorded_once_however_often_it_is_clicked(session: Session) -> None:
    created = create_interaction(session=session, data=make_interaction())

    first = record_feedback(session=session, interaction_id=created.id, helpful=True)
    assert first is not None and first.feedback == Feedback.HELPFUL
    first_at = first.feedback_at
    assert first_at is not None

    again = record_feedback(session=session, interaction_id=created.id, helpful=True)
    assert again is not None
    assert again.feedback == Feedback.HELPFUL
    assert again.feedback_at == first_at


def test_a_different_click_replaces_the_earlier_feedback(session: Session) -> None:
    created = create_interaction(session=session, data=make_interaction())
    record_feedback(session=session, interaction_id=created.id, helpful=True)

    changed = record_feedback(session=session, interaction_id=created.id, helpful=False)
    session.expunge_all()

    row = get_interaction(session=session, interaction_id=created.id)
    assert changed is not None and row is not None
    assert row.feedback == Feedback.UNHELPFUL
    assert row.feedback_at is not None


def test_list_is_newest_first_limited_and_filtered(session: Session) -> None:
    start = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    decisions = ["answer", "escalate", "answer", "clarify", "answer"]
    for minute, decision in enumerate(decisions):
        row = Interaction.model_validate(make_interaction(decision=decision, question=f"question {minute}"))
        row.created_at = start + timedelta(minutes=minute)
        session.add(row)
    session.commit()

    newest = list_interactions(session=session, limit=3)
    answers = list_interactions(session=session, limit=10, decision="answer")

    assert [r.question for r in newest] == ["question 4", "question 3", "question 2"]
    assert [r.question for r in answers] == ["question 4", "question 2", "question 0"]
    assert list_interactions(session=session, limit=10, decision="outage") == []


def test_count_by_decision(session: Session) -> None:
    for decision in ["answer", "answer", "escalate", "clarify", "answer"]:
        create_interaction(session=session, data=make_interaction(decision=decision))

    assert count_by_decision(session=session) == {"answer": 3, "escalate": 1, "clarify": 1}


def test_unicode_and_empty_fields_round_trip(session: Session) -> None:
    question = "la impresora no imprime 🖨️ — ¿qué hago? 中文"
    created = create_interaction(
        session=session,
        data=make_interaction(question=question, top_article=None, top_score=None, citations=[], user_id=""),
    )
    session.expunge_all()

    row = get_interaction(session=session, interaction_id=created.id)

    assert row is not None
    assert row.question == question
    assert row.top_article is None and row.top_score is None and row.citations == []

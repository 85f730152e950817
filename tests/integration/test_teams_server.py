"""Microsoft Teams over real HTTP: activities signed with a key the test made, served to the app on
uvicorn, answered as Adaptive Cards posted to a fake Bot Connector. The assistant is the
deterministic fake (answers "epic", offers a choice for "print", escalates the rest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.main import create_app
from tests.databases import postgres_settings, sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.teams import APP_ID, APP_PASSWORD, TENANT_ID, FakeTeams
from tests.live_server import LiveServer, serve
from tests.teams_payloads import button_data, channel_post, click, group_chat, personal, post_activity


def teams_options(teams: FakeTeams) -> dict[str, Any]:
    return {
        "teams_app_id": APP_ID,
        "teams_app_password": APP_PASSWORD,
        "teams_app_tenant_id": TENANT_ID,
        "teams_openid_metadata_url": teams.openid_url,
        "teams_token_url": teams.token_url,
        "teams_service_urls": teams.service_url,
        "public_url": "https://itbot.hospital.example",
    }


@pytest.fixture
def teams() -> Iterator[FakeTeams]:
    with FakeTeams() as fake:
        yield fake


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path, teams: FakeTeams) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield sqlite_settings(tmp_path, **teams_options(teams))
    else:
        with postgres_settings(tmp_path, **teams_options(teams)) as pg:
            yield pg


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        yield live


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def test_a_personal_chat_question_is_answered_with_a_card_of_steps_source_and_feedback_buttons(
    server: LiveServer, teams: FakeTeams, http: httpx.Client
) -> None:
    activity = personal(teams, "epic keeps logging me out")
    response = post_activity(http, server.url, teams, activity)

    assert response.status_code == 200
    [reply] = teams.wait_for("reply")
    assert reply.conversation == "a:personal-nurse-1"
    assert reply.activity_id == activity["id"]
    assert "Caps Lock" in reply.card_text
    assert (
        "Source: [Can't log in to Epic › Fix it](https://itbot.hospital.example/kb/ehr/epic-login-problems)"
        in (reply.card_text)
    )
    assert reply.buttons == ["That fixed it", "Still stuck"]
    assert reply.bearer == "bot-token-1"
    [form] = teams.token_requests
    assert form["client_id"] == APP_ID and form["scope"] == "https://api.botframework.com/.default"


def test_a_mention_in_a_channel_is_answered_in_its_thread_and_the_thread_continues_without_a_mention(
    server: LiveServer, teams: FakeTeams, http: httpx.Client
) -> None:
    root = channel_post(teams, "printer trouble on 4 West")
    post_activity(http, server.url, teams, root)
    [first] = teams.wait_for("reply")
    assert first.conversation == f"19:ward4@thread.tacv2;messageid={root['id']}"
    assert first.buttons[:2] == ["Printer shows offline", "Label printer prints blank labels"]

    follow_up = channel_post(teams, "epic also logs me out", root=root["id"], mention=False)
    post_activity(http, server.url, teams, follow_up)
    second = teams.wait_for("reply", count=2)[1]
    assert second.conversation == first.conversation
    assert "Caps Lock" in second.card_text

    elsewhere = channel_post(teams, "epic is slow", root="another-thread", mention=False)
    post_activity(http, server.url, teams, elsewhere)
    teams.settle(quiet=0.5)
    assert len(teams.posts()) == 2  # a thread the bot is not in is left alone


def test_a_group_chat_mention_is_answered_and_chatter_without_one_is_not(
    server: LiveServer, teams: FakeTeams, http: httpx.Client
) -> None:
    post_activity(http, server.url, teams, group_chat(teams, "lunch at noon?", mention=False))
    post_activity(http, server.url, teams, group_chat(teams, "epic keeps logging me out"))
    [reply] = teams.wait_for("reply")
    teams.settle(quiet=0.5)
    assert "Caps Lock" in reply.card_text and len(teams.posts()) == 1


def test_that_fixed_it_updates_the_card_to_say_so(
    server: LiveServer, teams: FakeTeams, http: httpx.Client
) -> None:
    asked = personal(teams, "epic keeps logging me out")
    post_activity(http, server.url, teams, asked)
    [answer] = teams.wait_for("reply")

    post_activity(
        http, server.url, teams, click(teams, answer, button_data(answer, "That fixed it"), like=asked)
    )

    [update] = teams.wait_for("update")
    assert update.activity_id == answer.posted_id
    assert update.buttons == []
    assert "Caps Lock" in update.card_text and "fixed it" in update.card_text


def test_still_stuck_updates_the_card_and_hands_the_conversation_to_it(
    server: LiveServer, teams: FakeTeams, http: httpx.Client
) -> None:
    asked = personal(teams, "epic keeps logging me out on 5 North wow 7")
    post_activity(http, server.url, teams, asked)
    [answer] = teams.wait_for("reply")

    post_activity(
        http, server.url, teams, click(teams, answer, button_data(answer, "Still stuck"), like=asked)
    )

    [update] = teams.wait_for("update")
    assert "still stuck" in update.card_text and update.buttons == []
    follow_up = teams.wait_for("reply", count=2)[1]
    assert "I'll pass this to IT" in follow_up.card_text or "which unit" in follow_up.card_text


def test_a_clarify_choice_answers_from_the_chosen_article_and_marks_the_card(
    server: LiveServer, teams: FakeTeams, http: httpx.Client
) -> None:
    asked = personal(teams, "printer trouble")
    post_activity(http, server.url, teams, asked)
    [choices] = teams.wait_for("reply")

    chosen = button_data(choices, "Label printer prints blank labels")
    post_activity(http, server.url, teams, click(teams, choices, chosen, like=asked))

    [update] = teams.wait_for("update")
    assert "You picked **Label printer prints blank labels**" in update.card_text
    answer = teams.wait_for("reply", count=2)[1]
    assert "Recalibrate the labels" in answer.card_text
    assert answer.buttons == ["That fixed it", "Still stuck"]

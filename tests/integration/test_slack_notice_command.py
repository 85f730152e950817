"""``/itbot-notice`` over real HTTP with signed requests and the fake Slack Web API: IT (members of
the triage channel or of the IT user group) gets a modal to post an outage or upgrade and to update
or resolve one; the submission changes the notice through ``bot.notices``; a refused value is shown
in the modal by its field; anyone else is told, to them alone, that the command is IT's."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot.channels.slack.notice_blocks import (
    F_ARTICLE,
    F_BODY,
    F_CHANGES,
    F_ENDS,
    F_IMPACT,
    F_NEXT,
    F_NOTICE,
    F_SITES,
    F_STARTS,
    F_STATUS,
    F_SYSTEMS,
    F_TITLE,
)
from bot.config import Settings
from bot.main import create_app
from bot.notices.models import Notice
from tests.fakes.assistant import FakeAssistant
from tests.fakes.slack_api import TEAM_ID, FakeSlackApi
from tests.live_server import LiveServer, serve
from tests.slack_payloads import BOT_TOKEN, SIGNING_SECRET, post_command, post_interaction, slash_command

KB = Path(__file__).resolve().parents[2] / "knowledge"
TRIAGE = "CITTRIAGE"
IT_GROUP = "SITSTAFF"
AGENT = "UAGENT"  # in the triage channel
ONCALL = "UONCALL"  # in the IT user group only
NURSE = "UNURSE1"
TRIGGERS = itertools.count(1)


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi(channel_members={TRIAGE: [AGENT, "UBOT"]}, group_members={IT_GROUP: [ONCALL]}) as fake:
        yield fake


@pytest.fixture
def server(db_settings: Settings, slack: FakeSlackApi) -> Iterator[LiveServer]:
    settings = db_settings.model_copy(
        update={
            "kb": KB,
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack.api_url,
            "slack_triage_channel": TRIAGE,
            "slack_it_usergroup": IT_GROUP,
        }
    )
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        yield live


def command(server: LiveServer, slack: FakeSlackApi, user: str) -> httpx.Response:
    fields = {
        **slash_command("", response_url=slack.response_url(user), user=user),
        "command": "/itbot-notice",
    }
    with httpx.Client(timeout=10) as http:
        return post_command(http, server.url, fields)


def submit(
    server: LiveServer, view: dict[str, Any], values: dict[str, Any], user: str = AGENT
) -> httpx.Response:
    """Submit ``view`` with ``values`` by block id: a str is typed text, ("option", v) a selection,
    a list a multi-selection."""
    state: dict[str, Any] = {}
    for block_id, value in values.items():
        if isinstance(value, list):
            element: dict[str, Any] = {"selected_options": [{"value": v} for v in value]}
        elif isinstance(value, tuple):
            element = {"selected_option": {"value": value[1]}}
        else:
            element = {"value": value}
        state[block_id] = {block_id: element}
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID},
        "user": {"id": user},
        "api_app_id": "A0ITBOT",
        "trigger_id": f"trig-view-{next(TRIGGERS)}",
        "view": {**view, "id": "V1", "state": {"values": state}},
    }
    with httpx.Client(timeout=10) as http:
        return post_interaction(http, server.url, payload)


def open_form(server: LiveServer, slack: FakeSlackApi, choice: str, user: str = AGENT) -> dict[str, Any]:
    """Run the command, pick ``choice`` in the first modal, and return the form Slack is told to show."""
    assert command(server, slack, user).status_code == 200
    picker = slack.wait_for("views.open")[-1].body["view"]
    answered = submit(server, picker, {F_NOTICE: ("option", choice)}, user)
    assert answered.status_code == 200
    body = answered.json()
    assert body["response_action"] == "update"
    form: dict[str, Any] = body["view"]
    return form


def stored(server: LiveServer) -> list[Notice]:
    with server.app.state.sessions() as session:
        return list(session.exec(select(Notice).order_by(Notice.id)))  # type: ignore[arg-type]


def test_a_member_of_the_triage_channel_posts_an_outage_from_the_modal(
    server: LiveServer, slack: FakeSlackApi
) -> None:
    form = open_form(server, slack, "new:outage")
    systems = next(b for b in form["blocks"] if b.get("block_id") == F_SYSTEMS)["element"]["options"]
    assert {"Epic", "Citrix Workspace"} <= {o["value"] for o in systems}

    answered = submit(
        server,
        form,
        {
            F_TITLE: "Epic is slow on all units",
            F_SYSTEMS: ["Epic"],
            F_BODY: "Use downtime reports.",
            F_IMPACT: ("option", "down"),
            F_NEXT: "+30m",
        },
    )

    assert answered.status_code == 200 and answered.text in ("", "null")
    [notice] = stored(server)
    assert notice.title == "Epic is slow on all units" and notice.systems == ["Epic"]
    assert notice.status.value == "investigating" and notice.impact.value == "down"
    assert notice.next_update_at is not None and notice.author == "Dana"
    told = slack.wait_for("chat.postEphemeral")[0].body
    assert told["user"] == AGENT and f"Notice {notice.id} is investigating" in told["text"]


def test_a_member_of_the_it_user_group_updates_and_resolves_a_notice(
    server: LiveServer, slack: FakeSlackApi
) -> None:
    form = open_form(server, slack, "new:outage", user=ONCALL)
    submit(server, form, {F_TITLE: "Citrix down", F_SYSTEMS: ["Citrix Workspace"]}, user=ONCALL)
    [notice] = stored(server)

    update = open_form(server, slack, f"notice:{notice.id}", user=ONCALL)
    statuses = [
        o["value"]
        for o in next(b for b in update["blocks"] if b.get("block_id") == F_STATUS)["element"]["options"]
    ]
    assert statuses[0] == "investigating" and "resolved" in statuses and "discarded" not in statuses
    submit(
        server,
        update,
        {F_STATUS: ("option", "identified"), F_BODY: "Storefront certificate expired."},
        ONCALL,
    )
    assert stored(server)[0].status.value == "identified"
    assert stored(server)[0].body == "Storefront certificate expired."

    resolve = open_form(server, slack, f"notice:{notice.id}", user=ONCALL)
    submit(server, resolve, {F_STATUS: ("option", "resolved"), F_BODY: "Back."}, ONCALL)

    assert stored(server)[0].status.value == "resolved"


@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        ({F_TITLE: "Epic slow", F_SYSTEMS: ["Epic"], F_NEXT: "yesterday-ish"}, F_NEXT, "Can't read the time"),
        ({F_TITLE: "Epic slow", F_SYSTEMS: ["Epic"], F_NEXT: "2020-01-01T00:00"}, F_NEXT, "in the past"),
        ({F_TITLE: "   ", F_SYSTEMS: ["Epic"]}, F_TITLE, "needs a title"),
        ({F_TITLE: "Epic slow", F_SYSTEMS: ["Epicc"]}, F_SYSTEMS, "Unknown system"),
    ],
)
def test_a_refused_value_is_shown_in_the_modal_by_its_field(
    server: LiveServer, slack: FakeSlackApi, values: dict[str, Any], field: str, says: str
) -> None:
    form = open_form(server, slack, "new:outage")

    answered = submit(server, form, values)

    body = answered.json()
    assert body["response_action"] == "errors" and says in body["errors"][field]
    assert stored(server) == []


def test_resolving_a_resolved_notice_is_shown_on_the_status_field(
    server: LiveServer, slack: FakeSlackApi
) -> None:
    form = open_form(server, slack, "new:outage")
    submit(server, form, {F_TITLE: "Citrix down", F_SYSTEMS: ["Citrix Workspace"]})
    [notice] = stored(server)
    update = open_form(server, slack, f"notice:{notice.id}")
    submit(server, update, {F_STATUS: ("option", "resolved")})

    again = submit(server, update, {F_STATUS: ("option", "resolved")})

    assert again.json()["response_action"] == "errors"
    assert "already resolved" in again.json()["errors"][F_STATUS]


def test_someone_outside_it_is_told_the_command_is_for_it_and_gets_no_modal(
    server: LiveServer, slack: FakeSlackApi
) -> None:
    assert command(server, slack, NURSE).status_code == 200

    told = slack.wait_for("response_url")[0].body
    assert told["response_type"] == "ephemeral" and "Only IT can post notices" in told["text"]
    slack.settle(quiet=0.2)
    assert slack.of("views.open") == []


def test_a_forged_submission_from_outside_it_changes_nothing(server: LiveServer, slack: FakeSlackApi) -> None:
    form = open_form(server, slack, "new:outage")

    answered = submit(server, form, {F_TITLE: "Epic down", F_SYSTEMS: ["Epic"]}, user=NURSE)

    assert answered.json()["response_action"] == "errors"
    assert stored(server) == []
    assert json.loads(form["private_metadata"])["k"] == "outage"


def test_an_upgrade_from_the_modal_keeps_its_window_sites_changes_and_downtime_article(
    server: LiveServer, slack: FakeSlackApi
) -> None:
    form = open_form(server, slack, "new:upgrade")
    shown = [block.get("block_id") for block in form["blocks"]]
    assert {F_SITES, F_STARTS, F_ENDS, F_CHANGES, F_ARTICLE} <= set(shown)

    answered = submit(
        server,
        form,
        {
            F_TITLE: "Epic upgrade",
            F_SYSTEMS: ["Epic"],
            F_SITES: "ED, 4 West",
            F_STARTS: "+2h",
            F_ENDS: "+4h",
            F_CHANGES: "Log in with your badge.",
            F_ARTICLE: "downtime/ehr-downtime-procedures",
        },
    )

    assert answered.status_code == 200 and not answered.content.strip()
    [notice] = stored(server)
    assert (notice.kind.value, notice.status.value, notice.sites) == (
        "upgrade",
        "scheduled",
        ["ED", "4 West"],
    )
    assert notice.starts_at is not None and notice.ends_at is not None and notice.starts_at < notice.ends_at
    assert notice.staff_changes == "Log in with your badge."
    assert notice.procedure_article == "downtime/ehr-downtime-procedures"
    update = open_form(server, slack, f"notice:{notice.id}")
    article = next(b for b in update["blocks"] if b.get("block_id") == F_ARTICLE)
    assert article["element"]["initial_value"] == "downtime/ehr-downtime-procedures"


@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        ({F_STARTS: "2020-01-01T02:00", F_ENDS: "2020-01-01T04:00"}, F_ENDS, "in the past"),
        ({F_STARTS: "+2h", F_ENDS: "+4h", F_ARTICLE: "downtime/epic-dwn"}, F_ARTICLE, "No knowledge article"),
    ],
)
def test_a_refused_upgrade_value_is_shown_by_its_field(
    server: LiveServer, slack: FakeSlackApi, values: dict[str, Any], field: str, says: str
) -> None:
    form = open_form(server, slack, "new:upgrade")

    answered = submit(server, form, {F_TITLE: "Epic upgrade", F_SYSTEMS: ["Epic"], **values})

    body = answered.json()
    assert body["response_action"] == "errors" and says in body["errors"][field]
    assert stored(server) == []

"""The console's knowledge pages over HTTP: list, edit, save, re-index, try a question, with the
real assistant (hashing encoder) over the tiny knowledge folder."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.interactions.models import InteractionCreate
from bot.interactions.queries import create_interaction, record_feedback
from bot.main import create_app
from tests.console_client import add_user, article_file, console_settings, indexed_assistant, signed_in
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve
from tests.tiny_kb import write_tiny_kb

ARTICLE = "printing/office-printer-offline"
QUESTION = "the fax machine on the ward keeps jamming"
NEW_SECTION = "\n## Fax machine jams\n\n1. Open the fax tray and lift out the jammed sheet by both corners.\n"
_BASE = re.compile(r'name="base" value="([0-9a-f]*)"')


@dataclass(frozen=True)
class Console:
    server: LiveServer
    settings: Settings


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """The app with the real assistant over the indexed tiny knowledge folder; a viewer, a curator."""
    # Review off: these tests are about the editor's own save (drafts: test_console_drafts.py).
    settings = console_settings(
        sqlite_settings(tmp_path), console_gap_similarity=0.2, console_article_review=False
    )
    assistant = indexed_assistant(settings)
    app = create_app(settings, assistant=assistant)
    add_user(settings, "cora", "curator")
    add_user(settings, "vic", "viewer")
    add_user(settings, "root", "admin")
    with serve(app) as server:
        yield Console(server, settings)


def form_of(page: str) -> dict[str, str]:
    """The edit form's fields as the page filled them (what a browser would post back)."""
    fields = dict(re.findall(r'<input name="(\w+)" value="([^"]*)"', page))
    body = re.search(r'<textarea name="body"[^>]*>(.*?)</textarea>', page, re.S)
    base = _BASE.search(page)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert body is not None and base is not None and csrf is not None
    values = {k: html.unescape(v) for k, v in fields.items()}
    values.update(body=html.unescape(body.group(1)), base=base.group(1), csrf_token=csrf.group(1))
    return values


def try_question(client: httpx.Client, csrf: str, question: str) -> httpx.Response:
    return client.post("/console/try", data={"csrf_token": csrf, "article_id": ARTICLE, "question": question})


def test_the_list_shows_every_article_with_owner_and_flags_overdue_and_ownerless_first(
    console: Console,
) -> None:
    path = article_file(console.settings, "citrix/citrix-frozen")
    path.write_text(path.read_text().replace("owner: end-user-computing\n", ""), encoding="utf-8")
    overdue = article_file(console.settings, "printing/specimen-label-printer")
    overdue.write_text(overdue.read_text().replace("2027-01-31", "2020-01-31"), encoding="utf-8")
    with signed_in(console.server.url, "vic") as (client, _csrf):
        page = client.get("/console/articles").text
        found = client.get("/console/articles", params={"q": "zebra"}).text
    order = [m for m in re.findall(r'href="/console/articles/([^"]+)"', page)]
    assert order[:2] == ["citrix/citrix-frozen", "printing/specimen-label-printer"]
    assert set(order) == {
        "citrix/citrix-frozen",
        "printing/specimen-label-printer",
        ARTICLE,
        "ehr/epic-login-problems",
    }
    assert "no owner" in page and "review overdue" in page and "clinical-apps-team" in page
    assert re.findall(r'href="/console/articles/([^"]+)"', found) == ["printing/specimen-label-printer"]


def test_a_saved_edit_is_written_audited_reindexed_and_answered_by_the_live_assistant(
    console: Console,
) -> None:
    with signed_in(console.server.url, "cora") as (client, csrf):
        before = try_question(client, csrf, QUESTION)
        assert "jammed sheet" not in before.text
        form = form_of(client.get(f"/console/articles/{ARTICLE}").text)
        form["body"] += NEW_SECTION
        saved = client.post(f"/console/articles/{ARTICLE}", data=form)
        assert saved.status_code == 200, saved.text
        assert 'id="saved"' in saved.text
        after = try_question(client, csrf, QUESTION)
    assert (
        "Open the fax tray and lift out the jammed sheet"
        in article_file(console.settings, ARTICLE).read_text()
    )
    assert re.search(r'id="tried-decision">answer<', after.text), after.text
    assert f'<code class="cited">{ARTICLE}</code>' in after.text.split('id="tried"')[1]
    assert "jammed sheet" in after.text.split('id="tried-text"')[1]
    with signed_in(console.server.url, "root") as (admin, _csrf):
        audit = admin.get("/console/audit.csv").text
    assert re.search(
        rf"article_saved,{re.escape(ARTICLE)},sha256 [0-9a-f]{{64}} -> [0-9a-f]{{64}},127\.0\.0\.1", audit
    )
    assert ",cora,article_saved," in audit


def test_a_stale_edit_is_refused_with_a_diff_and_the_newer_file_kept(console: Console) -> None:
    path = article_file(console.settings, ARTICLE)
    with signed_in(console.server.url, "cora") as (client, _csrf):
        form = form_of(client.get(f"/console/articles/{ARTICLE}").text)
        newer = path.read_text().replace("wait ten seconds", "wait twenty seconds")
        path.write_text(newer, encoding="utf-8")  # someone else saved meanwhile
        form["body"] += NEW_SECTION
        answer = client.post(f"/console/articles/{ARTICLE}", data=form)
    assert answer.status_code == 409
    assert path.read_text() == newer
    diff = html.unescape(answer.text.split('<pre class="diff">')[1].split("</pre>")[0])
    assert "-2. Turn the printer off, wait twenty seconds" in diff
    assert "+1. Open the fax tray" in diff


def test_an_invalid_edit_shows_the_line_and_writes_nothing(console: Console) -> None:
    path = article_file(console.settings, ARTICLE)
    before = path.read_text()
    with signed_in(console.server.url, "cora") as (client, _csrf):
        form = form_of(client.get(f"/console/articles/{ARTICLE}").text)
        form["body"] = "   \n"
        answer = client.post(f"/console/articles/{ARTICLE}", data=form)
    assert answer.status_code == 422
    assert re.search(r"Line \d+ of the file.*no article text after the front matter", answer.text)
    assert path.read_text() == before


@pytest.mark.parametrize("where", ["%2E%2E/%2E%2E/outside", "%2E%2E/kb-sibling/x", ".hidden/x", "a//b"])
def test_a_path_outside_the_knowledge_folder_is_refused(console: Console, where: str) -> None:
    with signed_in(console.server.url, "cora") as (client, csrf):
        data = {"csrf_token": csrf, "base": "", "title": "x", "body": "# x\n\ntext\n"}
        answer = client.post(f"/console/articles/{where}", data=data)
        shown = client.get(f"/console/articles/{where}")
    assert answer.status_code == 404 and shown.status_code == 404
    home = console.settings.home
    assert not (home / "outside.md").exists() and not (home / "kb-sibling").exists()
    assert not (console.settings.kb / ".hidden").exists()


def test_a_link_out_of_the_knowledge_folder_is_neither_read_nor_written(console: Console) -> None:
    secret = console.settings.home / "secret.md"
    secret.write_text("---\ntitle: secret\n---\n\nthe server's secret\n", encoding="utf-8")
    os.symlink(secret, console.settings.kb / "leak.md")
    with signed_in(console.server.url, "cora") as (client, csrf):
        shown = client.get("/console/articles/leak")
        data = {"csrf_token": csrf, "base": "", "title": "x", "body": "overwritten\n"}
        written = client.post("/console/articles/leak", data=data)
    assert shown.status_code == 404 and "the server's secret" not in shown.text
    assert written.status_code == 404
    assert "overwritten" not in secret.read_text()


def test_markup_in_an_article_or_a_question_is_escaped(console: Console) -> None:
    attack = "<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>"
    with signed_in(console.server.url, "cora") as (client, csrf):
        preview = client.post("/console/preview", json={"markdown": attack}, headers={"x-csrf-token": csrf})
        form = form_of(client.get(f"/console/articles/{ARTICLE}").text)
        form["title"] = "<b>bold</b> printer"
        form["body"] += "\n## Odd\n\n" + attack + "\n"
        saved = client.post(f"/console/articles/{ARTICLE}", data=form)
        listed = client.get("/console/articles").text
        tried = try_question(client, csrf, attack)
    rendered = preview.json()["html"]
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
    assert 'href="javascript:' not in rendered and "<img" not in rendered
    for page in (saved.text, listed, tried.text):
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>bold</b>" not in page
    assert "&lt;b&gt;bold&lt;/b&gt; printer" in listed


def test_a_viewer_reads_the_article_but_gets_no_form(console: Console) -> None:
    with signed_in(console.server.url, "vic") as (client, _csrf):
        page = client.get(f"/console/articles/{ARTICLE}")
    assert page.status_code == 200 and "Office printer shows offline" in page.text
    assert 'id="edit-form"' not in page.text


def _record(console: Console, text: str, who: str, decision: str, *, stuck: bool = False) -> None:
    with console.server.app.state.sessions() as session:
        row = create_interaction(
            session=session,
            data=InteractionCreate(channel="web", user_id=who, question=text, decision=decision),
        )
        if stuck:
            record_feedback(session=session, interaction_id=row.id, helpful=False)


def test_gaps_group_unsettled_questions_and_open_a_prefilled_draft_that_the_bot_then_answers(
    console: Console,
) -> None:
    _record(console, "pager app crashes on my phone", "u1", "escalate")
    _record(console, "pager app crashing on my phone", "u2", "clarify")
    _record(console, "pager app crashed again on phone", "u3", "answer", stuck=True)
    _record(console, "fax machine keeps jamming", "u4", "escalate")
    _record(console, "citrix frozen on the wow", "u5", "answer")  # settled: not a gap
    with signed_in(console.server.url, "vic") as (client, _csrf):
        seen = client.get("/console/gaps").text
    assert "Write an article" not in seen
    with signed_in(console.server.url, "cora") as (client, csrf):
        page = client.get("/console/gaps").text
        groups = page.split('<li class="gap">')[1:]
        assert "3 people" in groups[0] and "pager app crashes on my phone" in groups[0]
        assert "1 escalate, 1 clarify, 1 stuck" in groups[0]
        assert "fax machine keeps jamming" in groups[1] and "citrix" not in page
        draft = client.get(
            "/console/articles/drafts/pager-app-crashes-on-my-phone",
            params={"title": "pager app crashes on my phone", "asked": ["pager app crashing on my phone"]},
        )
        assert draft.status_code == 200 and "Staff asked:" in draft.text
        form = form_of(draft.text)
        assert form["title"] == "pager app crashes on my phone" and form["base"] == ""
        form["title"] = "The pager app crashes"
        form["body"] = (
            "# The pager app crashes\n\n## Fix it\n\n1. Update the pager app from the company portal.\n"
        )
        saved = client.post("/console/articles/drafts/pager-app-crashes-on-my-phone", data=form)
        assert saved.status_code == 200, saved.text
        tried = client.post(
            "/console/try",
            data={
                "csrf_token": csrf,
                "article_id": "drafts/pager-app-crashes-on-my-phone",
                "question": "pager app crashes",
            },
        )
    assert (console.settings.kb / "drafts" / "pager-app-crashes-on-my-phone.md").exists()
    assert "Update the pager app from the company portal" in tried.text.split('id="tried-text"')[1]


def test_the_list_counts_answers_citing_each_article_and_their_fixed_rate(console: Console) -> None:
    for who, helpful in (("u1", True), ("u2", True), ("u3", False), ("u4", None)):
        with console.server.app.state.sessions() as session:
            row = create_interaction(
                session=session,
                data=InteractionCreate(
                    channel="web",
                    user_id=who,
                    question="printer offline",
                    decision="answer",
                    top_article=ARTICLE,
                ),
            )
            if helpful is not None:
                record_feedback(session=session, interaction_id=row.id, helpful=helpful)
    with signed_in(console.server.url, "vic") as (client, _csrf):
        page = client.get("/console/articles").text
    line = page.split(f'href="/console/articles/{ARTICLE}"')[1].split("</tr>")[0]
    assert re.findall(r"<td>([^<]*)</td>", line)[-2:] == ["4", "67% of 3"]


def test_a_save_whose_reindex_fails_says_so_and_keeps_the_file(tmp_path: Path) -> None:
    settings = console_settings(
        sqlite_settings(tmp_path), model=str(tmp_path / "no-such-model"), console_article_review=False
    )
    write_tiny_kb(settings.kb)
    add_user(settings, "cora", "curator")
    server_context = serve(create_app(settings, assistant=FakeAssistant()))
    with server_context as server, signed_in(server.url, "cora") as (client, _csrf):
        form = form_of(client.get(f"/console/articles/{ARTICLE}").text)
        form["body"] += NEW_SECTION
        answer = client.post(f"/console/articles/{ARTICLE}", data=form)
    assert answer.status_code == 500
    assert "Saved, but re-indexing failed" in answer.text
    assert "lift out the jammed sheet" in article_file(settings, ARTICLE).read_text()

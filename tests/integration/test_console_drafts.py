"""Draft -> review -> publish over HTTP, with the real assistant (hashing encoder) over the tiny
knowledge folder, on SQLite and PostgreSQL: a curator's edit waits in the database; only a second
curator (or an admin) publishes it, and only then is the file written and the answer changed."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from bot.config import Settings
from bot.console.models import AuditEvent
from bot.console.queries import list_events
from bot.interactions.models import InteractionCreate
from bot.interactions.queries import create_interaction
from bot.main import create_app
from tests.console_client import add_user, article_file, console_settings, indexed_assistant, signed_in
from tests.live_server import LiveServer, serve

ARTICLE = "printing/office-printer-offline"
QUESTION = "the fax machine on the ward keeps jamming"
NEW_SECTION = "\n## Fax machine jams\n\n1. Open the fax tray and lift out the jammed sheet by both corners.\n"
_FIELD = re.compile(r'<input name="(\w+)" value="([^"]*)"')
_DRAFT = re.compile(r"^/console/drafts/(\d+)$")


@dataclass(frozen=True)
class Console:
    server: LiveServer
    settings: Settings

    def events(self, action: str) -> list[AuditEvent]:
        with self.server.app.state.sessions() as session:
            return [e for e in list_events(session=session) if e.action == action]


@pytest.fixture
def console(db_settings: Settings) -> Iterator[Console]:
    """Review on (the default); curators cora and cole, a viewer vic, an admin root; each database."""
    settings = console_settings(db_settings, console_gap_similarity=0.2)
    app = create_app(settings, assistant=indexed_assistant(settings))
    for name, role in (("cora", "curator"), ("cole", "curator"), ("vic", "viewer"), ("root", "admin")):
        add_user(settings, name, role)
    with serve(app) as server:
        yield Console(server, settings)


def form_of(page: str) -> dict[str, str]:
    """The edit form's fields as the page filled them (front matter, body, CSRF token, base if any)."""
    start = page.index('id="edit-form"')
    form = page[start : page.index("</form>", start)]
    values = {k: html.unescape(v) for k, v in _FIELD.findall(form)}
    body = re.search(r'<textarea name="body"[^>]*>(.*?)</textarea>', form, re.S)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert body is not None and csrf is not None
    values.update(body=html.unescape(body.group(1)), csrf_token=csrf.group(1))
    base = re.search(r'name="base" value="([0-9a-f]*)"', form)
    if base is not None:
        values["base"] = base.group(1)
    return values


def draft_an_edit(client: httpx.Client) -> int:
    """Open the article's editor, add the fax section and save: the id of the draft it makes."""
    form = form_of(client.get(f"/console/articles/{ARTICLE}").text)
    form["body"] += NEW_SECTION
    saved = client.post(f"/console/articles/{ARTICLE}", data=form)
    assert saved.status_code == 303, saved.text
    found = _DRAFT.match(saved.headers["location"])
    assert found is not None, saved.headers["location"]
    return int(found.group(1))


def asked_now(client: httpx.Client, csrf: str) -> str:
    """What the live assistant answers to the fax question now (its text)."""
    tried = client.post(
        "/console/try", data={"csrf_token": csrf, "article_id": ARTICLE, "question": QUESTION}
    )
    return tried.text.split('id="tried-text"')[1]


def test_a_curators_edit_waits_as_a_draft_and_the_file_and_answer_stay_as_they_were(
    console: Console,
) -> None:
    before = article_file(console.settings, ARTICLE).read_text()
    with signed_in(console.server.url, "cora") as (client, csrf):
        draft = draft_an_edit(client)
        page = client.get(f"/console/drafts/{draft}").text
        assert "lift out the jammed sheet" not in asked_now(client, csrf)
        listed = client.get("/console/drafts").text
    assert article_file(console.settings, ARTICLE).read_text() == before
    assert "waiting for review" in page and 'id="publish"' not in page  # not for its author
    preview = page.split('id="draft-preview">')[1].split("</div>")[0]
    assert "<h2>Fax machine jams</h2>" in preview
    diff = html.unescape(page.split('id="draft-diff">')[1].split("</pre>")[0])
    assert "+1. Open the fax tray and lift out the jammed sheet by both corners." in diff
    assert f'href="/console/drafts/{draft}"' in listed and "Office printer shows offline" in listed
    assert [(e.actor, e.target) for e in console.events("draft_saved")] == [("cora", ARTICLE)]


def test_the_author_cannot_publish_their_own_draft_but_another_curator_can(console: Console) -> None:
    with signed_in(console.server.url, "cora") as (author, author_csrf):
        draft = draft_an_edit(author)
        own = author.post(f"/console/drafts/{draft}/publish", data={"csrf_token": author_csrf})
        assert own.status_code == 403 and "someone other than its author" in own.text
        assert "lift out the jammed sheet" not in article_file(console.settings, ARTICLE).read_text()
    with signed_in(console.server.url, "cole") as (reviewer, csrf):
        page = reviewer.get(f"/console/drafts/{draft}").text
        assert 'id="publish"' in page
        published = reviewer.post(f"/console/drafts/{draft}/publish", data={"csrf_token": csrf})
        assert published.status_code == 200, published.text
        assert "Published and re-indexed" in published.text
        assert "lift out the jammed sheet" in asked_now(reviewer, csrf)
        again = reviewer.post(f"/console/drafts/{draft}/publish", data={"csrf_token": csrf})
        assert again.status_code == 409
    assert "lift out the jammed sheet" in article_file(console.settings, ARTICLE).read_text()
    events = console.events("draft_published")
    assert [(e.actor, e.target, e.address) for e in events] == [("cole", ARTICLE, "127.0.0.1")]
    assert f"draft {draft} by cora" in events[0].detail


def test_an_admin_publishes_anothers_draft_but_not_their_own(console: Console) -> None:
    with signed_in(console.server.url, "root") as (admin, csrf):
        own = draft_an_edit(admin)
        assert admin.post(f"/console/drafts/{own}/publish", data={"csrf_token": csrf}).status_code == 403
    with signed_in(console.server.url, "cora") as (author, _csrf):
        theirs = draft_an_edit(author)
    with signed_in(console.server.url, "root") as (admin, csrf):
        assert admin.post(f"/console/drafts/{theirs}/publish", data={"csrf_token": csrf}).status_code == 200


def test_a_draft_sent_back_with_a_comment_is_edited_by_its_author_and_then_published(
    console: Console,
) -> None:
    with signed_in(console.server.url, "cora") as (author, _csrf):
        draft = draft_an_edit(author)
    with signed_in(console.server.url, "cole") as (reviewer, csrf):
        empty = reviewer.post(f"/console/drafts/{draft}/return", data={"csrf_token": csrf, "comment": " "})
        assert empty.status_code == 200 and "Say what to change" in empty.text
        back = reviewer.post(
            f"/console/drafts/{draft}/return",
            data={"csrf_token": csrf, "comment": "Say which tray: the lower one."},
        )
        assert back.status_code == 303
        assert reviewer.post(f"/console/drafts/{draft}/publish", data={"csrf_token": csrf}).status_code == 409
    with signed_in(console.server.url, "cora") as (author, _csrf):
        page = author.get(f"/console/drafts/{draft}").text
        assert "sent back to its author" in page and "Say which tray: the lower one." in page
        form = form_of(page)
        form["body"] = form["body"].replace("Open the fax tray", "Open the lower fax tray")
        assert author.post(f"/console/drafts/{draft}", data=form).status_code == 303
        assert "waiting for review" in author.get(f"/console/drafts/{draft}").text
    with signed_in(console.server.url, "cole") as (reviewer, csrf):
        other = reviewer.post(f"/console/drafts/{draft}", data={**form, "csrf_token": csrf})
        assert other.status_code == 403  # only the author edits a draft
        assert reviewer.post(f"/console/drafts/{draft}/publish", data={"csrf_token": csrf}).status_code == 200
    assert "Open the lower fax tray" in article_file(console.settings, ARTICLE).read_text()
    assert [e.actor for e in console.events("draft_returned")] == ["cole"]
    assert [e.actor for e in console.events("draft_updated")] == ["cora"]


def test_a_viewer_cannot_draft_publish_or_send_back(console: Console) -> None:
    with signed_in(console.server.url, "cora") as (author, _csrf):
        draft = draft_an_edit(author)
    with signed_in(console.server.url, "vic") as (viewer, csrf):
        assert 'id="edit-form"' not in viewer.get(f"/console/articles/{ARTICLE}").text
        attempts = [
            viewer.post(f"/console/articles/{ARTICLE}", data={"csrf_token": csrf, "body": "# x\n\ny\n"}),
            viewer.post("/console/drafts/from-gap", data={"csrf_token": csrf, "article_id": "drafts/x"}),
            viewer.post(f"/console/drafts/{draft}/publish", data={"csrf_token": csrf}),
            viewer.post(f"/console/drafts/{draft}/return", data={"csrf_token": csrf, "comment": "no"}),
        ]
        page = viewer.get(f"/console/drafts/{draft}").text
    assert [a.status_code for a in attempts] == [403, 403, 403, 403]
    assert 'id="publish"' not in page and "waiting for review" in page
    assert len(console.events("draft_saved")) == 1


def test_publishing_or_drafting_without_the_csrf_token_is_refused(console: Console) -> None:
    with signed_in(console.server.url, "cora") as (author, _csrf):
        draft = draft_an_edit(author)
    with signed_in(console.server.url, "cole") as (reviewer, csrf):
        forged = reviewer.post(f"/console/drafts/{draft}/publish", data={"csrf_token": csrf + "x"})
        missing = reviewer.post(f"/console/drafts/{draft}/publish")
        gap = reviewer.post("/console/drafts/from-gap", data={"article_id": "drafts/x", "title": "x"})
        cross = reviewer.post(
            f"/console/drafts/{draft}/publish",
            data={"csrf_token": csrf},
            headers={"origin": "https://evil.example"},
        )
    assert [forged.status_code, missing.status_code, gap.status_code, cross.status_code] == [403] * 4
    assert "lift out the jammed sheet" not in article_file(console.settings, ARTICLE).read_text()
    assert console.events("draft_published") == []


def test_publishing_a_draft_of_an_article_changed_since_is_refused_with_a_diff(console: Console) -> None:
    path = article_file(console.settings, ARTICLE)
    with signed_in(console.server.url, "cora") as (author, _csrf):
        draft = draft_an_edit(author)
    newer = path.read_text().replace("wait ten seconds", "wait twenty seconds")
    path.write_text(newer, encoding="utf-8")  # someone changed the file meanwhile
    with signed_in(console.server.url, "cole") as (reviewer, csrf):
        assert 'id="changed-since"' in reviewer.get(f"/console/drafts/{draft}").text
        answer = reviewer.post(f"/console/drafts/{draft}/publish", data={"csrf_token": csrf})
    assert answer.status_code == 409 and 'id="stale"' in answer.text
    assert path.read_text() == newer
    assert "waiting for review" in answer.text  # it can still be sent back
    assert [e.actor for e in console.events("draft_stale")] == ["cole"]


def test_the_gaps_button_starts_a_prefilled_draft_that_a_second_curator_publishes(console: Console) -> None:
    for who, text in (("u1", "pager app crashes on my phone"), ("u2", "the pager app keeps crashing")):
        with console.server.app.state.sessions() as session:
            create_interaction(
                session=session,
                data=InteractionCreate(channel="web", user_id=who, question=text, decision="escalate"),
            )
    with signed_in(console.server.url, "cora") as (author, csrf):
        gaps = author.get("/console/gaps").text
        group = gaps.split('<li class="gap">')[1]
        assert 'action="/console/drafts/from-gap"' in group and 'method="post"' in group
        hidden = dict(
            (name, html.unescape(value))
            for name, value in re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', group)
            if name != "asked"
        )
        asked = [html.unescape(v) for v in re.findall(r'name="asked" value="([^"]*)"', group)]
        started = author.post("/console/drafts/from-gap", data={**hidden, "asked": asked})
        assert started.status_code == 303
        page = author.get(started.headers["location"]).text
        assert "Staff asked:" in page and "the pager app keeps crashing" in page
        form = form_of(page)
        assert form["title"] == "pager app crashes on my phone"
        form["body"] = (
            "# The pager app crashes\n\n## Fix it\n\n1. Update the pager app from the company portal.\n"
        )
        assert author.post(started.headers["location"], data=form).status_code == 303
    article_id = hidden["article_id"]
    assert article_id == "drafts/pager-app-crashes-on-my-phone"
    assert not article_file(console.settings, article_id).exists()  # a draft, not a file yet
    with signed_in(console.server.url, "cole") as (reviewer, csrf):
        published = reviewer.post(started.headers["location"] + "/publish", data={"csrf_token": csrf})
        assert published.status_code == 200, published.text
        tried = reviewer.post(
            "/console/try",
            data={"csrf_token": csrf, "article_id": article_id, "question": "pager app crashes"},
        )
    assert article_file(console.settings, article_id).exists()
    assert "Update the pager app from the company portal" in tried.text.split('id="tried-text"')[1]

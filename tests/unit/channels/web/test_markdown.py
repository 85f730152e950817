"""Markdown → HTML for the web: safe by construction, article links made absolute."""

from __future__ import annotations

import pytest

from bot.channels.web.markdown import article_url, render_markdown


def test_raw_html_is_shown_as_text_not_run() -> None:
    html = render_markdown("Click <script>alert(1)</script> and <img src=x onerror=alert(1)>")

    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize(
    "href", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "vbscript:x", "data:text/html,x"]
)
def test_script_links_are_not_links(href: str) -> None:
    assert "<a " not in render_markdown(f"[click]({href})")


def test_a_link_to_another_article_points_at_its_page() -> None:
    html = render_markdown("See [timeouts](ehr/epic-session-timeout) and [this](./ehr/epic-login.md#fix-it).")

    assert '<a href="/kb/ehr/epic-session-timeout">' in html
    assert '<a href="/kb/ehr/epic-login#fix-it">' in html


def test_outside_links_open_in_a_new_tab_without_the_opener() -> None:
    html = render_markdown("[portal](https://example.org/reset)")

    assert 'href="https://example.org/reset"' in html
    assert 'target="_blank"' in html and 'rel="noopener noreferrer"' in html


def test_site_links_and_anchors_are_left_alone() -> None:
    html = render_markdown("[kb](/kb/x) [top](#top)")

    assert 'href="/kb/x"' in html and 'href="#top"' in html
    assert "_blank" not in html


def test_steps_and_tables_render() -> None:
    html = render_markdown("1. **Secure**\n2. `Ctrl+Alt+L`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")

    assert "<ol>" in html and "<strong>Secure</strong>" in html and "<code>Ctrl+Alt+L</code>" in html
    assert "<table>" in html


def test_article_url_quotes_odd_characters() -> None:
    assert article_url("ehr/epic login") == "/kb/ehr/epic%20login"
    assert article_url("/printing/x/") == "/kb/printing/x"

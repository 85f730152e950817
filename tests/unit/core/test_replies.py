"""The clarify reply: it lists exactly the articles the policy offered."""

from __future__ import annotations

from bot.core.replies import clarify_text
from bot.core.retrieval import Hit
from indexer.store import StoredChunk


def hit(article_id: str, title: str) -> Hit:
    chunk = StoredChunk(
        id=f"{article_id}#0",
        article_id=article_id,
        ordinal=0,
        title=title,
        section="Fix it",
        text=f"{title} > Fix it\nsteps",
        markdown="## Fix it\n\n1. Do this.",
        hash=article_id,
        line=1,
    )
    return Hit(article_id, title, 0.6, 0.6, 0.6, chunk)


def test_close_articles_are_listed_as_numbered_choices_in_order() -> None:
    offered = (hit("vpn", "VPN won't connect from home"), hit("vpn2", "VPN connected but can't reach Epic"))
    text = clarify_text(offered)
    assert "1. **VPN won't connect from home**" in text
    assert "2. **VPN connected but can't reach Epic**" in text
    assert "3." not in text


def test_a_single_offered_article_is_not_presented_as_one_of_several() -> None:
    text = clarify_text((hit("epic", "Can't log in to Epic"),))
    assert "1. **Can't log in to Epic**" in text
    assert "a few articles" not in text
    assert "2." not in text

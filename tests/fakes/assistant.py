"""A fake ``Assistant``: the same methods as ``bot.core.assistant.Assistant``, deterministic answers.

It answers from three built-in articles by keyword, so HTTP tests do not depend on retrieval
quality. It scrubs with the real scrubber, because what it hands back as ``reply.asked`` is what
the web layer stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.errors import IndexNotReadyError
from bot.core.language import conversation_language
from bot.core.models import Citation, Decision, Question, Reply
from bot.core.scrub import scrub


@dataclass(frozen=True)
class FakeArticle:
    id: str
    title: str
    markdown: str
    description: str = ""
    systems: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    owner: str = "service-desk"
    review_by: str = "2027-01-31"


ARTICLES = {
    "ehr/epic-login-problems": FakeArticle(
        id="ehr/epic-login-problems",
        title="Can't log in to Epic",
        markdown=(
            "# Can't log in to Epic\n\n## Fix it\n\n1. Check **Caps Lock**.\n2. Use your network password.\n"
            "\n<script>alert('x')</script>\n\nSee [timeouts](ehr/epic-session-timeout).\n"
        ),
        systems=("Epic",),
        tags=("epic", "login"),
    ),
    "printing/printer-offline": FakeArticle(
        id="printing/printer-offline",
        title="Printer shows offline",
        markdown="# Printer shows offline\n\n## Fix it\n\n1. Turn the printer off and on.\n",
        systems=("Printers",),
    ),
    "printing/label-printer": FakeArticle(
        id="printing/label-printer",
        title="Label printer prints blank labels",
        markdown="# Label printer prints blank labels\n\n## Fix it\n\n1. Recalibrate the labels.\n",
        systems=("Zebra",),
    ),
}


def _citation(article_id: str, score: float) -> Citation:
    article = ARTICLES[article_id]
    return Citation(article_id, article.title, "Fix it", score, f"/kb/{article_id}")


@dataclass
class FakeAssistant:
    """Answers "epic" questions, offers a choice for "print" questions, escalates the rest (saying
    which language the conversation is in, as the real one does)."""

    is_ready: bool = True
    refreshes: int = 0
    asked_texts: list[str] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    explode: bool = False

    @property
    def ready(self) -> bool:
        return self.is_ready

    @property
    def manifest_summary(self) -> dict[str, object]:
        if not self.is_ready:
            return {}
        return {"build": "fake", "model": "fake", "articles": len(ARTICLES), "chunks": len(ARTICLES)}

    def refresh(self) -> bool:
        self.refreshes += 1
        return False

    def ask(self, question: Question) -> Reply:
        if self.explode:
            raise RuntimeError(f"boom while answering {question.text}")
        if not self.is_ready:
            raise IndexNotReadyError("no index in the fake")
        self.asked_texts.append(question.text)
        self.questions.append(question)
        scrubbed = scrub(" ".join(question.text.split())[:4000])
        words = scrubbed.text.lower()
        if not words.strip():
            return Reply(
                Decision.CLARIFY, "What's not working? Tell me the system and what you see.", asked=""
            )
        if "epic" in words:
            return Reply(
                Decision.ANSWER,
                "1. Check **Caps Lock**.\n2. Use your network password.\n\n<b>raw html stays text</b>",
                (_citation("ehr/epic-login-problems", 0.82),),
                actions=("fixed", "stuck"),
                signals={"top_score": 0.82},
                asked=scrubbed.text,
            )
        if "print" in words:
            ids = ("printing/printer-offline", "printing/label-printer")
            return Reply(
                Decision.CLARIFY,
                "Which one is it?\n\n- Printer shows offline\n- Label printer prints blank labels",
                tuple(_citation(i, 0.5) for i in ids),
                actions=(*(f"choose:{i}" for i in ids), "stuck"),
                signals={"top_score": 0.5},
                asked=scrubbed.text,
            )
        asked = [turn.text for turn in question.history if turn.role == "user"]
        return Reply(
            Decision.ESCALATE,
            "I couldn't find an article for that. Call the service desk.",
            signals={"top_score": 0.1},
            asked=scrubbed.text,
            language=conversation_language([*asked, scrubbed.text]).value,
        )

    def answer_from(self, article_id: str, question: Question) -> Reply | None:
        if article_id not in ARTICLES:
            return None
        reply = self.ask(question)
        article = ARTICLES[article_id]
        return Reply(
            Decision.ANSWER,
            article.markdown.split("## Fix it\n\n", 1)[-1],
            (_citation(article_id, 0.5),),
            actions=("fixed", "stuck"),
            asked=reply.asked,
        )

    def article(self, article_id: str) -> FakeArticle | None:
        if self.explode:
            raise RuntimeError(f"boom while looking up {article_id}")
        return ARTICLES.get(article_id)

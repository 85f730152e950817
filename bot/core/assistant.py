"""The one entry point every channel calls: ``Assistant.ask(question) -> Reply``.

The assistant owns the live index and swaps in a newer build when ``current`` changes; a question
is always answered from one whole build (the reference is read once per question).
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.config import Settings
from bot.core.errors import IndexNotReadyError
from bot.core.fusion import FusionParams
from bot.core.language import Language, conversation_language
from bot.core.models import Citation, Decision, Question, Reply
from bot.core.name_vocabulary import use_site_vocabulary, vocabulary_from_texts
from bot.core.policy import PolicyParams, Verdict, decide
from bot.core.reading import (
    ELSEWHERE_LEAD,
    ELSEWHERE_THRESHOLD,
    MessageKind,
    Phrasebook,
    Reading,
    read_message,
)
from bot.core.replies import (
    answer_text,
    article_link,
    clarify_text,
    empty_text,
    escalate_text,
    not_fixed_clarify_text,
    not_fixed_escalate_text,
    not_it_text,
    phi_reminder_text,
    resolved_text,
    small_talk_text,
)
from bot.core.retrieval import Hit, Searcher, SearchResult
from bot.core.scrub import ScrubResult, scrub
from indexer.encoder import Encoder, load_encoder
from indexer.store import (
    IndexMismatchError,
    IndexNotFoundError,
    LoadedIndex,
    current_folder,
    finished_builds,
    load_build,
)

log = logging.getLogger(__name__)

NOT_FIXED_REASON = "not fixed"
NOT_IT_REASON = "not IT"
_STRENGTH = {Decision.ESCALATE: 0, Decision.CLARIFY: 1, Decision.ANSWER: 2}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONVERSATIONAL_TEXTS = (MessageKind.PERSON, MessageKind.RESOLVED, MessageKind.SMALL_TALK)


@dataclass(frozen=True)
class ArticleView:
    """An article as the web page shows it."""

    id: str
    title: str
    markdown: str
    description: str
    systems: tuple[str, ...]
    tags: tuple[str, ...]
    owner: str
    review_by: str


def _strength(decision: Decision) -> int:
    return _STRENGTH.get(decision, 0)


def _site_words(index: LoadedIndex) -> frozenset[str]:
    """The words the knowledge base and its glossary write in lower case: never a person's name."""
    words: set[str] = set()
    for article in index.articles.values():
        words |= _words_of(article.markdown)
    for group in index.lexical.glossary.groups:
        words |= _words_of(" ".join(" ".join(term) for term in group))
    return frozenset(words)


@functools.lru_cache(maxsize=8192)
def _words_of(text: str) -> frozenset[str]:
    # Cached by text: a new build after one edit reads only the article that changed.
    return vocabulary_from_texts([text])


def clean_question(text: str, limit: int) -> str:
    """``text`` without control characters, whitespace collapsed, cut to ``limit`` characters."""
    text = _CONTROL.sub(" ", text)
    text = " ".join(text.split())
    return text[:limit]


class Assistant:
    """Answers questions from the live index under ``settings.index_root``."""

    def __init__(
        self,
        settings: Settings,
        *,
        encoder: Encoder | None = None,
        fusion: FusionParams | None = None,
        policy: PolicyParams | None = None,
    ) -> None:
        self.settings = settings
        self._encoder = encoder
        self._fusion = fusion
        self._policy = policy
        self._searcher: Searcher | None = None
        self._folder: Path | None = None
        # Builds that cannot be used, with why (each logged once), and those logged as unreadable.
        self._refused: dict[Path, str] = {}
        self._reported: set[Path] = set()
        self._lock = threading.Lock()
        self._phrasebook: Phrasebook | None = None
        self.load_error: str | None = None

    @property
    def encoder(self) -> Encoder:
        """The query encoder, loaded on first use."""
        if self._encoder is None:
            self._encoder = load_encoder(
                self.settings.model,
                cache_dir=self.settings.models_dir,
                max_tokens=self.settings.max_tokens,
                threads=self.settings.encoder_threads,
            )
        return self._encoder

    @property
    def ready(self) -> bool:
        """True once an index is loaded."""
        return self._searcher is not None

    @property
    def manifest_summary(self) -> dict[str, object]:
        """A few facts about the live index, for /healthz and the CLI."""
        searcher = self._searcher
        if searcher is None:
            return {}
        m = searcher.index.manifest
        return {
            "build": searcher.index.folder.name,
            "model": m.model,
            "articles": m.articles,
            "chunks": m.chunks,
            "built_at": m.built_at,
        }

    def refresh(self) -> bool:
        """Load the live build if it differs from the one in use; True when another one was swapped in.

        A live build that cannot be used (made with another model, dimension, token limit or
        format; damaged or non-finite vectors; unreadable files) leaves the loaded one in place,
        sets ``load_error`` and is logged once (``index.refused``), not at every call: a build
        folder never changes once finished, so it is not loaded again. With no build loaded yet
        (at start-up), the newest finished build kept on disk that fits is loaded instead and
        logged (``index.fallback``, naming it and the refused one); only when none fits does the
        assistant stay not ready. A build that vanished or could not be opened is tried again at
        the next call (logged once too).
        """
        root = self.settings.index_root
        folder = current_folder(root)
        if folder is None:
            if self._searcher is None:
                self.load_error = str(IndexNotFoundError(root))
            return False
        if folder == self._folder or folder in self._refused:
            return False
        with self._lock:
            if folder == self._folder or folder in self._refused:
                return False
            index = self._try_load(folder)
            if index is None and self._searcher is None:
                index = self._fall_back(root, folder)
            if index is None:
                return False
            self._searcher = Searcher(index, self.encoder, self._fusion, previous=self._searcher)
            self._folder = index.folder
            if index.folder == folder:
                self.load_error = None
            use_site_vocabulary(_site_words(index))
        log.info("index.loaded", extra={"folder": index.folder.name, "chunks": index.manifest.chunks})
        return True

    def _try_load(self, folder: Path) -> LoadedIndex | None:
        """The build in ``folder``, or None (remembered as refused, or to retry) with the reason
        in ``load_error`` and logged once."""
        try:
            return load_build(folder, model=self.encoder.name, dim=self.encoder.dim)
        except IndexMismatchError as exc:
            self._refuse(folder, str(exc), type(exc).__name__)
        except (ValueError, KeyError, TypeError) as exc:
            reason = f"The index in {folder} could not be read ({type(exc).__name__})."
            self._refuse(folder, reason, type(exc).__name__)
        except OSError as exc:  # gone or being removed, out of descriptors: may pass, so tried again
            self.load_error = f"The index in {folder} could not be read ({type(exc).__name__})."
            if folder not in self._reported:
                self._reported.add(folder)
                log.warning("index.unreadable", extra={"folder": folder.name, "error": type(exc).__name__})
        return None

    def _refuse(self, folder: Path, reason: str, error: str) -> None:
        self._refused[folder] = reason
        self.load_error = reason
        log.error("index.refused", extra={"folder": folder.name, "error": error, "reason": reason})

    def _fall_back(self, root: Path, refused: Path) -> LoadedIndex | None:
        """The newest other finished build kept under ``root`` that loads, or None."""
        for folder in finished_builds(root):
            if folder == refused or folder in self._refused:
                continue
            index = self._try_load(folder)
            if index is not None:
                log.warning(
                    "index.fallback",
                    extra={
                        "folder": folder.name,
                        "refused": refused.name,
                        "reason": self._refused.get(refused, self.load_error or ""),
                    },
                )
                return index
        return None

    def _live_searcher(self) -> Searcher | None:
        """The searcher over the live index, loading it first if none is loaded yet."""
        if self._searcher is None:
            self.refresh()
        return self._searcher

    def ask(self, question: Question) -> Reply:
        """Answer ``question``: scrub it, read it in its conversation, search, decide, and write the
        reply.

        The message is read first (``bot.core.reading``): thanks, "it works now" and a request for a
        person get their fixed reply without a search; "still doesn't work" offers the articles not
        offered yet or hands over to IT; a refinement is searched together with the earlier
        question; a question closer to the not-IT examples than to any article is told where to ask.
        Never raises for odd input (empty, huge, control characters, another language); raises
        ``IndexNotReadyError`` only when no index is loaded. The scrubbed question is in
        ``reply.asked``; the reply never contains text from the question.
        """
        started = time.perf_counter()
        searcher = self._live_searcher()
        if searcher is None:
            raise IndexNotReadyError(self.load_error or "no index loaded")
        scrubbed = scrubbed_question(question, self.settings.max_question_chars)
        phrasebook = self.phrasebook
        reading = read_message(
            scrubbed.text, question.history, encode=self._encode_one, phrasebook=phrasebook
        )
        language = question_language(question, scrubbed.text)
        if reading.kind in _CONVERSATIONAL_TEXTS:
            return self._conversational(reading, scrubbed, started, language)
        if reading.kind is MessageKind.NOT_FIXED:
            return self._not_fixed(searcher, reading, scrubbed, started, language)
        result = searcher.search(scrubbed.text, k=10)
        verdict = decide(result, self._policy)
        if not result.analysis.content_words:
            return self._reply(searcher, result, verdict, scrubbed, started, language)
        if verdict.decision is not Decision.ANSWER:
            # Judged on the message alone: "and is the cafeteria open late?" is not about the printer.
            top_dense = result.hits[0].dense if result.hits else 0.0
            away = phrasebook.elsewhere(result.query_vector)
            if away.closeness >= ELSEWHERE_THRESHOLD and away.closeness >= top_dense + ELSEWHERE_LEAD:
                where = away.topic.where if away.topic and away.topic.where else phrasebook.default_where
                not_it = Reading(MessageKind.NOT_IT, closeness=away.closeness)
                return self._conversational(not_it, scrubbed, started, language, where=where)
        if reading.kind is MessageKind.REFINE:
            together = searcher.search(scrub(reading.combined(scrubbed.text)).text, k=10)
            together_verdict = decide(together, self._policy)
            alone, together_strength = _strength(verdict.decision), _strength(together_verdict.decision)
            alone_answers = verdict.decision is Decision.ANSWER
            if together_strength > alone or (together_strength == alone and not alone_answers):
                reason = f"follow-up: {together_verdict.reason}"
                result, verdict = together, replace(together_verdict, reason=reason)
        reply = self._reply(searcher, result, verdict, scrubbed, started, language)
        return replace(reply, reading=reading.kind.value)

    @property
    def phrasebook(self) -> Phrasebook:
        """The conversation reader's examples, embedded with this assistant's encoder on first use
        (with the knowledge folder's ``elsewhere.yml`` when it has one)."""
        if self._phrasebook is None:
            self._phrasebook = Phrasebook.load(self.encoder, self.settings.kb / "elsewhere.yml")
        return self._phrasebook

    def _encode_one(self, text: str) -> np.ndarray:
        vector: np.ndarray = np.asarray(self.encoder.encode([text])[0])
        return vector

    def _conversational(
        self, reading: Reading, scrubbed: ScrubResult, started: float, language: Language, *, where: str = ""
    ) -> Reply:
        """The reply to a message about the conversation (thanks, "it works now", a request for a
        person) or a question that is not for IT: no article, no ticket buttons."""
        phone = self.settings.service_desk_phone
        if reading.kind is MessageKind.PERSON:
            text, reason = escalate_text(phone, language=language), "asked for a person"
            decision = Decision.ESCALATE
        elif reading.kind is MessageKind.RESOLVED:
            decision, text, reason = Decision.CLARIFY, resolved_text(language=language), "resolved"
        elif reading.kind is MessageKind.NOT_IT:
            decision, text, reason = Decision.CLARIFY, not_it_text(where, language=language), NOT_IT_REASON
        else:
            decision, text, reason = (
                Decision.CLARIFY,
                small_talk_text(scrubbed.text, language=language),
                "small talk",
            )
        if scrubbed.changed:
            text = f"{text}\n\n_{phi_reminder_text(language=language)}_"
        signals = {
            "reading_closeness": reading.closeness,
            "latency_ms": (time.perf_counter() - started) * 1000,
        }
        return Reply(
            decision,
            text,
            signals=signals,
            asked=scrubbed.text,
            reason=reason,
            reading=reading.kind.value,
            language=language.value,
        )

    def _reply(
        self,
        searcher: Searcher,
        result: SearchResult,
        verdict: Verdict,
        scrubbed: ScrubResult,
        started: float,
        language: Language,
    ) -> Reply:
        base = self.settings.public_url
        hits: tuple[Hit, ...] = verdict.hits
        actions: tuple[str, ...]
        if not result.analysis.content_words:
            decision, text, actions = Decision.CLARIFY, empty_text(language=language), ()
            hits = ()
        elif verdict.decision is Decision.ANSWER:
            hits = (replace(hits[0], chunk=searcher.section_to_quote(hits[0], result.query_vector)),)
            decision, actions = Decision.ANSWER, ("fixed", "stuck")
            text = answer_text(hits[0], base, language=language)
        elif verdict.decision is Decision.CLARIFY:
            decision = Decision.CLARIFY
            choices = clarify_text if verdict.reason != NOT_FIXED_REASON else not_fixed_clarify_text
            text = choices(hits, language=language)
            actions = (*tuple(f"choose:{h.article_id}" for h in hits), "stuck")
        else:
            phone = self.settings.service_desk_phone
            not_fixed = verdict.reason == NOT_FIXED_REASON
            decision = Decision.ESCALATE
            hand_over = not_fixed_escalate_text if not_fixed else escalate_text
            text = hand_over(phone, language=language)
            actions = ()
        if scrubbed.changed:
            text = f"{text}\n\n_{phi_reminder_text(language=language)}_"
        citations = tuple(
            Citation(
                h.article_id, h.title, h.chunk.section, round(h.score, 4), article_link(h.article_id, base)
            )
            for h in hits
        )
        top = result.hits[0] if result.hits else None
        signals = {
            "top_score": top.score if top else 0.0,
            "top_dense": top.dense if top else 0.0,
            "known_share": result.analysis.known_share,
            "latency_ms": (time.perf_counter() - started) * 1000,
        }
        return Reply(
            decision,
            text,
            citations,
            None,
            actions,
            None,
            signals,
            asked=scrubbed.text,
            reason=verdict.reason,
            language=language.value,
        )

    def _not_fixed(
        self,
        searcher: Searcher,
        reading: Reading,
        scrubbed: ScrubResult,
        started: float,
        language: Language,
    ) -> Reply:
        """The earlier answer did not help: offer the close articles not offered yet, or hand over."""
        p = self._policy or PolicyParams()
        result = searcher.search(scrub(reading.earlier_question).text, k=10)
        fresh = [h for h in result.hits if h.article_id not in reading.offered]
        relevant = [h for h in fresh if h.score >= p.clarify_score and h.coverage >= p.escalate_coverage]
        close = tuple(relevant[: p.max_choices])
        decision = Decision.CLARIFY if close else Decision.ESCALATE
        verdict = Verdict(decision, close, NOT_FIXED_REASON)
        reply = self._reply(searcher, result, verdict, scrubbed, started, language)
        return replace(reply, reading=reading.kind.value)

    def answer_from(self, article_id: str, question: Question) -> Reply | None:
        """Answer with a chosen article (a clarify choice), quoting its section that best fits the
        question; None when the live index has no such article."""
        started = time.perf_counter()
        searcher = self._live_searcher()
        if searcher is None or article_id not in searcher.index.articles:
            return None
        scrubbed = scrub(clean_question(question.text, self.settings.max_question_chars))
        title = searcher.index.articles[article_id].title
        result = searcher.search(scrubbed.text or title, k=50)
        hit = next((h for h in result.hits if h.article_id == article_id), None)
        if hit is None:
            chunk = next(c for c in searcher.index.chunks if c.article_id == article_id)
            hit = Hit(article_id, chunk.title, 0.0, 0.0, 0.0, chunk)
        hit = replace(hit, chunk=searcher.section_to_quote(hit, result.query_vector))
        base = self.settings.public_url
        citation = Citation(
            article_id, hit.title, hit.chunk.section, round(hit.score, 4), article_link(article_id, base)
        )
        signals = {"top_score": hit.score, "latency_ms": (time.perf_counter() - started) * 1000}
        language = question_language(question, scrubbed.text)
        return Reply(
            Decision.ANSWER,
            answer_text(hit, base, language=language),
            (citation,),
            None,
            ("fixed", "stuck"),
            None,
            signals,
            asked=scrubbed.text,
            reason="chosen",
            language=language.value,
        )

    def article(self, article_id: str) -> ArticleView | None:
        """The article ``article_id`` of the live index, or None when it has no such article."""
        searcher = self._live_searcher()
        if searcher is None:
            return None
        a = searcher.index.articles.get(article_id)
        if a is None:
            return None
        return ArticleView(a.id, a.title, a.markdown, a.description, a.systems, a.tags, a.owner, a.review_by)


def scrubbed_question(question: Question, max_chars: int) -> ScrubResult:
    """``question``'s text cleaned and scrubbed, counting what was scrubbed before it arrived too.

    The conversation flow hands over text it already scrubbed (scrubbing again changes nothing);
    callers without the flow (``itbot ask``, benchmarks) hand over raw text, scrubbed here.
    """
    scrubbed = scrub(clean_question(question.text, max_chars))
    if not question.scrubbed_counts:
        return scrubbed
    counts = dict(question.scrubbed_counts)
    for kind, count in scrubbed.counts.items():
        counts[kind] = counts.get(kind, 0) + count
    return ScrubResult(text=scrubbed.text, counts=counts)


def question_language(question: Question, scrubbed_text: str) -> Language:
    """The language to answer ``question`` in: that of its conversation, the person's earlier
    messages and ``scrubbed_text`` (the question as scrubbed) read together (``bot.core.language``)."""
    asked = [turn.text for turn in question.history if turn.role == "user"]
    return conversation_language([*asked, scrubbed_text])

"""Writing the reply text: the best section's steps, the choices, or the hand-over. Pure functions.

The fixed sentences are in ``TEXTS``, one ``CoreTexts`` a language; every function takes the
``language`` to write in (``bot.core.language``), English when not said. The articles themselves
are in English, so a reply in another language says so before quoting one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.language import Language
from bot.core.retrieval import Hit

MAX_QUOTE_CHARS = 1800

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s.*$", re.MULTILINE)


@dataclass(frozen=True)
class CoreTexts:
    """The core's fixed sentences in one language; ``{phone}`` is the service desk's number."""

    full_article: str
    articles_in_english: str  # "" where the articles are in the reply's own language
    clarify: str
    clarify_one: str
    not_fixed_clarify: str
    not_fixed_escalate: str
    escalate: str
    empty: str
    phi_reminder: str
    small_talk: str
    thanks: str
    resolved: str
    not_it: str  # "{where}": where to ask instead


TEXTS: dict[Language, CoreTexts] = {
    Language.EN: CoreTexts(
        full_article="Full article",
        articles_in_english="",
        clarify="I found a few articles that could fit. Which one matches your problem?",
        clarify_one="This article might fit, though I'm not sure it covers your problem:",
        not_fixed_clarify="Sorry that didn't fix it. One of these might fit better:",
        not_fixed_escalate=(
            "Sorry that didn't fix it. This needs a person from IT. "
            "If it's urgent or a patient is waiting, call the service desk at {phone}."
        ),
        escalate=(
            "I couldn't find an article that answers this, so it needs a person from IT. "
            "If it's urgent or a patient is waiting, call the service desk at {phone}."
        ),
        empty=(
            "I didn't catch a question there. Tell me what's wrong in a few words, for example "
            '"citrix frozen on the wow" or "label printer printing blank".'
        ),
        phi_reminder=(
            "Please don't paste patient details (names, MRNs, dates of birth) here; I removed them from "
            "your message before storing it."
        ),
        small_talk=(
            "Hi! I'm the IT help bot. Tell me what's not working in a few words, for example "
            '"citrix frozen on the wow", and I\'ll find the fix or get a person from IT.'
        ),
        thanks="You're welcome. If anything else isn't working, just tell me here.",
        resolved="Glad it's working. I haven't opened anything. If it comes back, just tell me here.",
        not_it=(
            "That doesn't look like an IT question, so I haven't opened a ticket. {where}\n\n"
            "If it is an IT problem after all, tell me which system and what you see."
        ),
    ),
    Language.ES: CoreTexts(
        full_article="Artículo completo",
        articles_in_english="_Nuestros artículos están en inglés._",
        clarify="Encontré algunos artículos que podrían servir. ¿Cuál corresponde a su problema?",
        clarify_one="Este artículo podría servir, aunque no estoy seguro de que cubra su problema:",
        not_fixed_clarify="Lamento que eso no lo haya resuelto. Quizá alguno de estos sirva mejor:",
        not_fixed_escalate=(
            "Lamento que eso no lo haya resuelto. Esto necesita a una persona de IT. "
            "Si es urgente o hay un paciente esperando, llame a la mesa de ayuda al {phone}."
        ),
        escalate=(
            "No encontré un artículo que responda a esto, así que necesita a una persona de IT. "
            "Si es urgente o hay un paciente esperando, llame a la mesa de ayuda al {phone}."
        ),
        empty=(
            "No entendí la pregunta. Cuénteme en pocas palabras qué pasa, por ejemplo "
            '"citrix congelado en el wow" o "la impresora de etiquetas imprime en blanco".'
        ),
        phi_reminder=(
            "Por favor, no pegue aquí datos de pacientes (nombres, MRN, fechas de nacimiento); los quité "
            "de su mensaje antes de guardarlo."
        ),
        small_talk=(
            "¡Hola! Soy el asistente de IT. Cuénteme en pocas palabras qué no funciona, por ejemplo "
            '"citrix congelado en el wow", y buscaré la solución o le pasaré con una persona de IT.'
        ),
        thanks="De nada. Si algo más no funciona, escríbame aquí.",
        resolved="Me alegra que funcione. No abrí nada. Si vuelve a pasar, escríbame aquí.",
        not_it=(
            "Eso no parece una pregunta de IT, así que no abrí un ticket. {where}\n\n"
            "Si sí es un problema de IT, dígame qué sistema y qué ve en la pantalla. "
            "_(Las indicaciones de dónde preguntar están en inglés.)_"
        ),
    ),
}

PHI_REMINDER = TEXTS[Language.EN].phi_reminder


def texts_in(language: Language) -> CoreTexts:
    """The core's fixed sentences in ``language`` (English for a language without its own)."""
    return TEXTS.get(language, TEXTS[Language.EN])


def article_link(article_id: str, base_url: str = "") -> str:
    """The web chat's link to an article's page."""
    return f"{base_url.rstrip('/')}/kb/{article_id}"


def quote_section(markdown: str, limit: int = MAX_QUOTE_CHARS) -> str:
    """The section's Markdown without its heading line, cut at a line boundary near ``limit``."""
    body = _HEADING.sub("", markdown, count=1).strip()
    if len(body) <= limit:
        return body
    cut = body.rfind("\n", 0, limit)
    return body[: cut if cut > limit // 2 else limit].rstrip() + "\n\n…"


def _with_note(text: str, language: Language) -> str:
    """``text`` after the note that the articles are in English, where the language needs one."""
    note = texts_in(language).articles_in_english
    return f"{note}\n\n{text}" if note else text


def answer_text(hit: Hit, base_url: str = "", *, language: Language = Language.EN) -> str:
    """The reply for a confident answer: which article and section, its steps, and the link."""
    steps = quote_section(hit.chunk.markdown) or hit.chunk.text.split("\n", 1)[-1]
    section = "" if hit.chunk.section in ("", "Overview") else f" — {hit.chunk.section}"
    full = texts_in(language).full_article
    body = (
        f"**{hit.title}**{section}\n\n{steps}\n\n"
        f"{full}: [{hit.title}]({article_link(hit.article_id, base_url)})"
    )
    return _with_note(body, language)


def _choices(lead: str, hits: tuple[Hit, ...], language: Language) -> str:
    lines = [lead, ""]
    lines += [f"{n}. **{h.title}**" for n, h in enumerate(hits, 1)]
    note = texts_in(language).articles_in_english
    return "\n".join(lines) + (f"\n\n{note}" if note else "")


def clarify_text(hits: tuple[Hit, ...], *, language: Language = Language.EN) -> str:
    """The reply offering the close articles to choose from (or the one article that might fit)."""
    t = texts_in(language)
    return _choices(t.clarify_one if len(hits) == 1 else t.clarify, hits, language)


def not_fixed_clarify_text(hits: tuple[Hit, ...], *, language: Language = Language.EN) -> str:
    """The reply when the earlier answer did not help and other articles could."""
    return _choices(texts_in(language).not_fixed_clarify, hits, language)


def not_fixed_escalate_text(phone: str, *, language: Language = Language.EN) -> str:
    """The reply when the earlier answer did not help and no other article fits."""
    return texts_in(language).not_fixed_escalate.format(phone=phone)


def escalate_text(phone: str, *, language: Language = Language.EN) -> str:
    """The reply when nothing in the knowledge base fits."""
    return texts_in(language).escalate.format(phone=phone)


def empty_text(*, language: Language = Language.EN) -> str:
    """The reply to a message with nothing to search for (empty, only symbols, only identifiers)."""
    return texts_in(language).empty


def phi_reminder_text(*, language: Language = Language.EN) -> str:
    """The reminder not to paste patient details, added when the scrubber removed some."""
    return texts_in(language).phi_reminder


_THANKS = re.compile(r"^\W*(?:ok(?:ay)?\W+)?(?:thanks?|thank\s+you|thx|ty|cheers|gracias)\b", re.IGNORECASE)


def small_talk_text(said: str = "", *, language: Language = Language.EN) -> str:
    """The reply to small talk: "you're welcome" to a message that opens with thanks (``said``);
    to a greeting or "what can you do", what the bot is for, and an example."""
    texts = texts_in(language)
    return texts.thanks if _THANKS.match(said) else texts.small_talk


def resolved_text(*, language: Language = Language.EN) -> str:
    """The reply to "never mind" or "it works now": glad, nothing opened, how to come back."""
    return texts_in(language).resolved


def not_it_text(where: str, *, language: Language = Language.EN) -> str:
    """The reply to a question that is not for IT: where to ask instead (``where``, as IT wrote it
    in ``elsewhere.yml``), and no ticket."""
    return texts_in(language).not_it.format(where=where)

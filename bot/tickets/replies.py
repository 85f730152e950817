"""What the bot says to people about their tickets (Markdown), in one place, in each language.

Short and plain: a clinician reads it between patients. Every message says what happens next and
never repeats what the person wrote. The sentences are in ``TEXTS``, one ``TicketTexts`` a language
(``bot.core.language``); every function takes the ``language`` to write in, English when not said.
Placeholders: ``{number}``, ``{phone}``, ``{priority}``, ``{who}``, ``{wanted}``, ``{others}``,
``{people}``, ``{note}``, ``{what}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.language import Language


@dataclass(frozen=True)
class TicketTexts:
    """The ticket flow's fixed sentences in one language."""

    phi_note: str
    asks: Mapping[str, str]  # what the follow-up asks for each missing detail
    and_word: str
    ask_details: str
    opened: str
    joined_one: str
    joined_many: str
    joined: str
    already_open: str
    kept: str
    failed: str
    relay_failed: str
    replayed: str
    replayed_joined: str
    agent_from_it: str
    it: str
    someone_from_it: str
    agent_reply: str
    taken: str
    resolved: str
    resolved_note: str
    reopen_hint: str
    status: str
    statuses: Mapping[str, str]
    lead_not_fixed: str
    lead_no_article: str
    withdrawn: str
    set_aside: str
    still_open: str


TEXTS: dict[Language, TicketTexts] = {
    Language.EN: TicketTexts(
        phi_note="Please don't include patient names, MRNs or dates of birth; IT doesn't need them.",
        asks={
            "problem": "what the problem is",
            "location": "which unit or room you're in",
            "device": "which device it is (the WOW number, printer name or asset tag), if it's one device",
            "urgency": "whether a patient is waiting",
        },
        and_word="and",
        ask_details="I'll pass this to IT. So they can help faster, tell me in one message {wanted}.",
        opened=(
            "I've opened ticket **{number}** for IT (priority: {priority}). They'll reply in this "
            "thread and I'll tell you here when it's fixed. If a patient is waiting and it can't wait, call "
            "the service desk at {phone} and give them the number."
        ),
        joined_one="1 other person has",
        joined_many="{others} other people have",
        joined=(
            "{people} reported this too, so I've added you to ticket **{number}**. IT is on it and I'll "
            "tell you here when it's fixed. If it's urgent, call the service desk at {phone} and give them "
            "the number."
        ),
        already_open=(
            "You already have ticket **{number}** open for this; IT will reply in this thread. "
            "Anything you add here goes to the ticket."
        ),
        kept=(
            "IT has your request. I couldn't open the ticket just now, so it waits safely until the system "
            "is back; the ticket number will follow here. If it's urgent, call the service desk at {phone}."
        ),
        failed="I couldn't open the ticket just now. Please call the service desk at {phone}.",
        relay_failed="I couldn't add that to ticket **{number}** just now. If urgent, call {phone}.",
        replayed="Your request reached IT: it's ticket **{number}**. They'll reply in this thread.",
        replayed_joined="Your request reached IT: others reported it too, and you're on ticket **{number}**.",
        agent_from_it="{who} from IT",
        it="IT",
        someone_from_it="Someone from IT",
        agent_reply="**{who}** on ticket {number}:",
        taken="{who} is now working on ticket **{number}**.",
        resolved="IT has resolved ticket **{number}**.",
        resolved_note="IT's note: {note}",
        reopen_hint="If it's still not working, say so here and I'll get IT back on it.",
        status="Ticket **{number}**: {what}.",
        statuses={
            "open": "IT is working on it",
            "waiting": "IT is waiting for more information",
            "closed": "it is closed",
        },
        lead_not_fixed="Sorry that didn't fix it.",
        lead_no_article="I couldn't find an article that answers this.",
        withdrawn="OK, I won't open a ticket. If it comes back, just tell me here.",
        set_aside='I\'ve set the ticket request aside. If you still need a person from IT, say "talk to IT".',
        still_open=(
            "Your ticket **{number}** is still open; IT will reply here. To add to it, just write here."
        ),
    ),
    Language.ES: TicketTexts(
        phi_note=(
            "Por favor, no incluya nombres de pacientes, MRN ni fechas de nacimiento; IT no los necesita."
        ),
        asks={
            "problem": "cuál es el problema",
            "location": "en qué unidad o habitación está",
            "device": "qué equipo es (el número del WOW, el nombre de la impresora o la etiqueta de "
            "inventario), si es un solo equipo",
            "urgency": "si hay un paciente esperando",
        },
        and_word="y",
        ask_details="Se lo paso a IT. Para que le ayuden más rápido, dígame en un solo mensaje {wanted}.",
        opened=(
            "Abrí el ticket **{number}** para IT (prioridad: {priority}). Le responderán en este hilo y "
            "le avisaré aquí cuando esté resuelto. Si hay un paciente esperando y no puede esperar, llame "
            "a la mesa de ayuda al {phone} y deles el número."
        ),
        joined_one="Otra persona ha",
        joined_many="Otras {others} personas han",
        joined=(
            "{people} reportado esto también, así que le añadí al ticket **{number}**. IT ya está en ello "
            "y le avisaré aquí cuando esté resuelto. Si es urgente, llame a la mesa de ayuda al {phone} y "
            "deles el número."
        ),
        already_open=(
            "Ya tiene abierto el ticket **{number}** por esto; IT le responderá en este hilo. "
            "Lo que añada aquí se agrega al ticket."
        ),
        kept=(
            "IT tiene su solicitud. No pude abrir el ticket ahora mismo, así que queda guardada hasta que "
            "el sistema vuelva; el número del ticket llegará aquí. Si es urgente, llame a la mesa de ayuda "
            "al {phone}."
        ),
        failed="No pude abrir el ticket ahora mismo. Por favor, llame a la mesa de ayuda al {phone}.",
        relay_failed=(
            "No pude añadir eso al ticket **{number}** ahora mismo. Si es urgente, llame al {phone}."
        ),
        replayed="Su solicitud llegó a IT: es el ticket **{number}**. Le responderán en este hilo.",
        replayed_joined=(
            "Su solicitud llegó a IT: otras personas también lo reportaron y usted está en el ticket "
            "**{number}**."
        ),
        agent_from_it="{who}, de IT,",
        it="IT",
        someone_from_it="Alguien de IT",
        agent_reply="**{who}** sobre el ticket {number}:",
        taken="{who} ya está trabajando en el ticket **{number}**.",
        resolved="IT resolvió el ticket **{number}**.",
        resolved_note="Nota de IT: {note}",
        reopen_hint="Si todavía no funciona, dígalo aquí y haré que IT vuelva a revisarlo.",
        status="Ticket **{number}**: {what}.",
        statuses={
            "open": "IT está trabajando en ello",
            "waiting": "IT está esperando más información",
            "closed": "está cerrado",
        },
        lead_not_fixed="Lamento que eso no lo haya resuelto.",
        lead_no_article="No encontré un artículo que responda a esto.",
        withdrawn="De acuerdo, no abriré un ticket. Si vuelve a pasar, escríbame aquí.",
        set_aside=(
            "Dejé de lado la solicitud de ticket. Si todavía necesita a una persona de IT, escriba "
            '"hablar con una persona".'
        ),
        still_open=(
            "Su ticket **{number}** sigue abierto; IT le responderá aquí. Para añadir algo, escríbalo aquí."
        ),
    ),
}

PHI_NOTE = TEXTS[Language.EN].phi_note
_ENDS_SENTENCE = re.compile(r"[.!?…)\]\"'»]$")


def texts_in(language: Language) -> TicketTexts:
    """The ticket flow's sentences in ``language`` (English for a language without its own)."""
    return TEXTS.get(language, TEXTS[Language.EN])


def sentence(text: str) -> str:
    """``text`` on one line with its own closing punctuation (a full stop added when it has none)."""
    flat = " ".join(text.split())
    return flat if not flat or _ENDS_SENTENCE.search(flat) else f"{flat}."


def _join(parts: Sequence[str], and_word: str) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {and_word} " + parts[-1]


def _with_phi_note(text: str, t: TicketTexts, phi_note: bool) -> str:
    return f"{text}\n\n_{t.phi_note}_" if phi_note else text


def ask_details_text(missing: Sequence[str], *, phi_note: bool, language: Language = Language.EN) -> str:
    """The one follow-up question before opening a ticket, asking only for what is ``missing``
    ("problem", "location", "device", "urgency", in that order of importance)."""
    t = texts_in(language)
    wanted = _join([t.asks[m] for m in missing], t.and_word)
    return _with_phi_note(t.ask_details.format(wanted=wanted), t, phi_note)


def opened_text(
    number: str, *, priority_label: str, phone: str, phi_note: bool, language: Language = Language.EN
) -> str:
    """The reply when a new ticket was opened (the priority label stays IT's English word)."""
    t = texts_in(language)
    return _with_phi_note(t.opened.format(number=number, priority=priority_label, phone=phone), t, phi_note)


def joined_text(
    number: str, *, affected: int, phone: str, phi_note: bool, language: Language = Language.EN
) -> str:
    """The reply when the report was folded into an incident others reported too."""
    t = texts_in(language)
    others = affected - 1
    people = t.joined_one if others == 1 else t.joined_many.format(others=others)
    return _with_phi_note(t.joined.format(people=people, number=number, phone=phone), t, phi_note)


def already_open_text(number: str, *, language: Language = Language.EN) -> str:
    """The reply when the conversation already has an open ticket."""
    return texts_in(language).already_open.format(number=number)


def kept_text(phone: str, *, language: Language = Language.EN) -> str:
    """The reply when the database is down and the escalation was kept in the spool."""
    return texts_in(language).kept.format(phone=phone)


def failed_text(phone: str, *, language: Language = Language.EN) -> str:
    """The reply when neither the database nor the spool could keep the escalation."""
    return texts_in(language).failed.format(phone=phone)


def relay_failed_text(number: str, *, phone: str, language: Language = Language.EN) -> str:
    """The reply when a message could not be added to the conversation's open ticket."""
    return texts_in(language).relay_failed.format(number=number, phone=phone)


def replayed_text(number: str, *, joined: bool, language: Language = Language.EN) -> str:
    """The message sent when a kept request was opened after the database came back."""
    t = texts_in(language)
    return (t.replayed_joined if joined else t.replayed).format(number=number)


def _agent(agent: str, t: TicketTexts, *, nobody: str) -> str:
    return t.agent_from_it.format(who=agent) if agent and agent != "IT" else nobody


def agent_reply_text(number: str, *, agent: str, text: str, language: Language = Language.EN) -> str:
    """An IT agent's reply as the person reads it in their thread (the reply itself as IT wrote it)."""
    t = texts_in(language)
    who = _agent(agent, t, nobody=t.it).rstrip(",")
    return f"{t.agent_reply.format(who=who, number=number)}\n\n{text}"


def taken_text(number: str, *, agent: str, language: Language = Language.EN) -> str:
    """The message to reporters when an agent takes the ticket."""
    t = texts_in(language)
    return t.taken.format(who=_agent(agent, t, nobody=t.someone_from_it), number=number)


def status_text(number: str, *, status: str, note: str, language: Language = Language.EN) -> str:
    """The message to reporters when a ticket's status changes. IT's ``note`` stands as a sentence
    of its own (closing punctuation added when missing); a resolution gets its own paragraphs: what
    happened, IT's note, and what to do if it is still not working."""
    t = texts_in(language)
    said = sentence(note)
    if status == "resolved":
        paragraphs = [t.resolved.format(number=number)]
        if said:
            paragraphs.append(t.resolved_note.format(note=said))
        paragraphs.append(t.reopen_hint)
        return "\n\n".join(paragraphs)
    text = t.status.format(number=number, what=t.statuses.get(status, status))
    return f"{text} {said}" if said else text


def escalation_lead(*, not_fixed: bool, language: Language = Language.EN) -> str:
    """The sentence before the escalation's own text when the bot hands over: the answer did not
    help (``not_fixed``), or no article answers the question."""
    t = texts_in(language)
    return t.lead_not_fixed if not_fixed else t.lead_no_article


def joined_note(*, affected: int) -> str:
    """The line relayed to IT when another person's report was folded into a ticket (IT's English)."""
    return f"Another person reported this ({affected} affected)."


def withdrawn_text(*, language: Language = Language.EN) -> str:
    """The reply to "never mind" while the ticket's details were awaited: nothing was opened."""
    return texts_in(language).withdrawn


def set_aside_note(*, language: Language = Language.EN) -> str:
    """The line added to an answer given instead of the awaited ticket details."""
    return texts_in(language).set_aside


def still_open_note(number: str, *, language: Language = Language.EN) -> str:
    """The line added to an answer while the conversation's ticket is open."""
    return texts_in(language).still_open.format(number=number)

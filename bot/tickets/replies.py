"""What the bot says to people about their tickets (Markdown), in one place.

Short and plain: a clinician reads it between patients. Every message says what happens next and
never repeats what the person wrote.
"""

from __future__ import annotations

from collections.abc import Sequence

PHI_NOTE = "Please don't include patient names, MRNs or dates of birth; IT doesn't need them."

_ASKS = {
    "location": "which unit or room you're in",
    "device": "which device it is (the WOW number, printer name or asset tag), if it's one device",
    "urgency": "whether a patient is waiting",
}


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def ask_details_text(missing: Sequence[str], *, phi_note: bool) -> str:
    """The one follow-up question before opening a ticket, asking only for what is ``missing``."""
    wanted = _join([_ASKS[m] for m in missing])
    text = f"I'll pass this to IT. So they can help faster, tell me in one message {wanted}."
    return f"{text}\n\n_{PHI_NOTE}_" if phi_note else text


def opened_text(number: str, *, priority_label: str, phone: str, phi_note: bool) -> str:
    """The reply when a new ticket was opened."""
    text = (
        f"I've opened ticket **{number}** for IT (priority: {priority_label}). They'll reply in this "
        f"thread and I'll tell you here when it's fixed. If a patient is waiting and it can't wait, call "
        f"the service desk at {phone} and give them the number."
    )
    return f"{text}\n\n_{PHI_NOTE}_" if phi_note else text


def joined_text(number: str, *, affected: int, phone: str, phi_note: bool) -> str:
    """The reply when the report was folded into an incident others reported too."""
    others = affected - 1
    people = "1 other person has" if others == 1 else f"{others} other people have"
    text = (
        f"{people} reported this too, so I've added you to ticket **{number}**. IT is on it and I'll "
        f"tell you here when it's fixed. If it's urgent, call the service desk at {phone} and give them "
        "the number."
    )
    return f"{text}\n\n_{PHI_NOTE}_" if phi_note else text


def already_open_text(number: str) -> str:
    """The reply when the conversation already has an open ticket."""
    return (
        f"You already have ticket **{number}** open for this; IT will reply in this thread. "
        "Anything you add here goes to the ticket."
    )


def kept_text(phone: str) -> str:
    """The reply when the database is down and the escalation was kept in the spool."""
    return (
        "IT has your request. I couldn't open the ticket just now, so it waits safely until the system "
        "is back; the ticket number will follow here. "
        f"If it's urgent, call the service desk at {phone}."
    )


def replayed_text(number: str, *, joined: bool) -> str:
    """The message sent when a kept request was opened after the database came back."""
    if joined:
        return f"Your request reached IT: others reported it too, and you're on ticket **{number}**."
    return f"Your request reached IT: it's ticket **{number}**. They'll reply in this thread."


def agent_reply_text(number: str, *, agent: str, text: str) -> str:
    """An IT agent's reply as the person reads it in their thread."""
    who = f"{agent} from IT" if agent and agent != "IT" else "IT"
    return f"**{who}** on ticket {number}:\n\n{text}"


def taken_text(number: str, *, agent: str) -> str:
    """The message to reporters when an agent takes the ticket."""
    who = f"{agent} from IT" if agent and agent != "IT" else "Someone from IT"
    return f"{who} is now working on ticket **{number}**."


def status_text(number: str, *, status: str, note: str) -> str:
    """The message to reporters when a ticket's status changes."""
    if status == "resolved":
        text = f"IT has resolved ticket **{number}**."
        if note:
            text += f" {note}"
        return text + " If it's still not working, say so here and I'll get IT back on it."
    words = {
        "open": "IT is working on it",
        "waiting": "IT is waiting for more information",
        "closed": "it is closed",
    }
    text = f"Ticket **{number}**: {words.get(status, status)}."
    return f"{text} {note}" if note else text


def joined_note(*, affected: int) -> str:
    """The line relayed to IT when another person's report was folded into a ticket."""
    return f"Another person reported this ({affected} affected)."


def withdrawn_text() -> str:
    """The reply to "never mind" while the ticket's details were awaited: nothing was opened."""
    return "OK, I won't open a ticket. If it comes back, just tell me here."


def set_aside_note() -> str:
    """The line added to an answer given instead of the awaited ticket details."""
    return 'I\'ve set the ticket request aside. If you still need a person from IT, say "talk to IT".'


def still_open_note(number: str) -> str:
    """The line added to an answer while the conversation's ticket is open."""
    return f"Your ticket **{number}** is still open; IT will reply here. To add to it, just write here."

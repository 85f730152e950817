"""What can go wrong working a ticket, each with a sentence safe to show an IT agent."""

from __future__ import annotations

from bot.core.errors import ItbotError
from bot.tickets.numbers import normalize_number


class TicketError(ItbotError):
    """A ticket action that cannot be done as asked."""

    code = "ticket_error"


class TicketNotFoundError(TicketError):
    """No ticket has that number (or id)."""

    code = "ticket_not_found"

    def __init__(self, number: str) -> None:
        shown = normalize_number(number) or number[:32]
        super().__init__(f"no ticket {shown}", user_message=f"There is no ticket {shown}.")


class TicketClosedError(TicketError):
    """The ticket is closed: nothing more is added to it."""

    code = "ticket_closed"

    def __init__(self, number: str) -> None:
        super().__init__(f"ticket {number} is closed", user_message=f"Ticket {number} is closed.")


class EmptyMessageError(TicketError):
    """A reply with no text."""

    code = "empty_message"
    user_message = "The reply is empty: write what the person should read."

"""The errors the core raises: each carries a sentence safe to show staff and a stable code for logs."""

from __future__ import annotations


class ItbotError(Exception):
    """Base error. ``user_message`` may be shown in chat; ``code`` goes to the log; ``str()`` has detail."""

    code = "itbot_error"
    user_message = "Sorry, something went wrong on my side. Please try again, or call the service desk."

    def __init__(self, detail: str = "", *, user_message: str | None = None) -> None:
        super().__init__(detail or self.user_message)
        if user_message is not None:
            self.user_message = user_message


class IndexNotReadyError(ItbotError):
    """No usable index is loaded (none built yet, or it was built with another model)."""

    code = "index_not_ready"
    user_message = (
        "I'm still getting ready (my knowledge base isn't loaded yet). Please try again in a minute."
    )

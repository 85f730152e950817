"""What can go wrong with a notice, each with a sentence safe to show the IT person who asked."""

from __future__ import annotations

from bot.core.errors import ItbotError


class NoticeError(ItbotError):
    """A notice action that cannot be done as asked; nothing was written.

    The sentence names what is wrong in words any form can show (console, Slack, CLI); ``field``
    says which input it is about (``title``, ``systems``, ``window``; "" for none), so that a
    channel can point at it its own way, as the CLI does with its flag."""

    code = "notice_error"

    def __init__(self, detail: str = "", *, user_message: str | None = None, field: str = "") -> None:
        super().__init__(detail, user_message=user_message)
        self.field = field


class NoticeNotFoundError(NoticeError):
    """No notice has that id."""

    code = "notice_not_found"

    def __init__(self, notice_id: object) -> None:
        shown = str(notice_id)[:32]
        super().__init__(f"no notice {shown}", user_message=f"There is no notice {shown}.")


class UnknownSystemError(NoticeError):
    """A system name the registry does not know; the message suggests the closest one."""

    code = "unknown_system"


class BadTransitionError(NoticeError):
    """A status the notice cannot move to from where it is (e.g. resolving a resolved notice)."""

    code = "bad_transition"


class BadScheduleError(NoticeError):
    """An upgrade window that is missing, in the past, or ends before it starts."""

    code = "bad_schedule"

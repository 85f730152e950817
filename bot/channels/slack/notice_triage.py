"""IT's notice work in Slack: the buttons on a draft outage's triage post, and ``/itbot-notice``.

* **Confirm and post** on a draft (posted by ``POST /api/alerts``) makes it a live outage; **Discard**
  ends it unseen; **Resolve** (offered when monitoring says it recovered) resolves a live one. The
  clicked post then says who did what, without its buttons; an action that cannot be done (already
  confirmed, already resolved) is told to the clicker alone.
* ``/itbot-notice`` opens a modal (``views.open``) to post an outage or upgrade, or to update or
  resolve an open notice; the submission goes through ``bot.notices.actions`` and a refused one is
  shown in the modal, by the field it concerns (``response_action: errors``). Only IT may use it:
  members of the triage channel or of ``ITBOT_SLACK_IT_USERGROUP``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.channels.slack.blocks import escape, plain_text, with_outcome
from bot.channels.slack.notice_blocks import (
    ACTION_DRAFT_CONFIRM,
    ACTION_DRAFT_DISCARD,
    ACTION_NOTICE_RESOLVE,
    F_ARTICLE,
    F_BODY,
    F_CHANGES,
    F_ENDS,
    F_IMPACT,
    F_NEXT,
    F_NOTICE,
    F_SITES,
    F_STARTS,
    F_STATUS,
    F_SYSTEMS,
    F_TITLE,
    NOTICE_PICK_VIEW,
    NOTICE_VIEW,
    new_notice_view,
    notice_id_of,
    pick_view,
    submitted,
    update_notice_view,
    view_metadata,
)
from bot.config import Settings
from bot.core.errors import ItbotError
from bot.db import SessionFactory
from bot.interactions.models import utcnow
from bot.interactions.recording import log_failure
from bot.notices.actions import NewNotice, open_notice, resolve_notice, update_notice
from bot.notices.errors import BadScheduleError, BadTransitionError, NoticeError, UnknownSystemError
from bot.notices.intake import confirm_draft, discard_draft
from bot.notices.models import Impact, Notice, NoticeKind, NoticeStatus
from bot.notices.procedures import UnknownArticleError
from bot.notices.queries import get_notice, list_notices, list_systems
from bot.notices.registry import ensure_seeded, parse_list
from bot.notices.times import optional_time

log = logging.getLogger(__name__)

COMMAND = "/itbot-notice"
NOT_IT = "Only IT can post notices: ask to be added to the IT triage channel or the IT user group."
DB_DOWN = "That didn't go through (the database is unavailable). Please try again."


class NoticeTriageHandlers:
    """Listeners for the draft buttons and the ``/itbot-notice`` modal."""

    def __init__(
        self,
        settings: Settings,
        sessions: SessionFactory,
        client: WebClient,
        *,
        agent_name: Callable[[str], str],
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.client = client
        self.agent_name = agent_name

    # -- draft buttons -------------------------------------------------------------------------

    def on_confirm(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        """Confirm and post: the draft becomes a live outage that answers staff."""
        ack()
        self._button(
            body,
            action,
            "confirmed",
            lambda s, n, who: confirm_draft(session=s, notice_id=n, now=utcnow(), author=who),
        )

    def on_discard(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        """Discard: the draft ends and nobody is ever told."""
        ack()
        self._button(
            body,
            action,
            "discarded",
            lambda s, n, who: discard_draft(session=s, notice_id=n, now=utcnow(), author=who),
        )

    def on_resolve(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        """Resolve (after monitoring saw it recover): the notice ends and its subscribers are told."""
        ack()
        self._button(
            body,
            action,
            "resolved",
            lambda s, n, who: resolve_notice(session=s, notice_id=n, now=utcnow(), author=who),
        )

    def _button(
        self,
        body: dict[str, Any],
        action: dict[str, Any],
        done: str,
        run: Callable[[Session, int, str], Notice],
    ) -> None:
        user = str((body.get("user") or {}).get("id") or "")
        channel = str((body.get("channel") or {}).get("id") or "")
        notice_id = notice_id_of(action.get("value"))
        if notice_id is None:
            return
        try:
            with self.sessions() as session:
                notice = run(session, notice_id, self.agent_name(user))
                title = notice.title
                session.commit()
        except ItbotError as exc:
            self._tell(channel, user, exc.user_message)
            return
        except SQLAlchemyError as exc:
            log_failure(log, "notice_button_failed", exc, notice_id=notice_id, action=action.get("action_id"))
            self._tell(channel, user, DB_DOWN)
            return
        log.info("event=notice_%s channel=slack notice_id=%s", done, notice_id)
        notes = {
            "confirmed": f":loudspeaker: <@{user}> confirmed notice {notice_id}: live, answering staff.",
            "discarded": f":wastebasket: <@{user}> discarded the draft; nobody was told.",
            "resolved": f":white_check_mark: <@{user}> resolved notice {notice_id}; those waiting are told.",
        }
        self._mark(body, channel, f"{notes[done]} ({escape(title)})")

    # -- /itbot-notice -------------------------------------------------------------------------

    def on_command(
        self, ack: Callable[..., None], command: dict[str, Any], respond: Callable[..., Any]
    ) -> None:
        """``/itbot-notice``: IT gets the modal; anyone else is told, to them alone, who may use it."""
        ack()
        user = str(command.get("user_id") or "")
        trigger = command.get("trigger_id")
        if not self.is_it(user):
            log.info("event=notice_command_refused user=%s", user)
            respond(response_type="ephemeral", text=NOT_IT)
            return
        if not isinstance(trigger, str):
            return
        try:
            with self.sessions() as session:
                ensure_seeded(session=session, kb=self.settings.kb)
                session.commit()
                open_ones = list_notices(session=session, open_only=True)
                view = pick_view(open_ones, channel=str(command.get("channel_id") or ""))
        except SQLAlchemyError as exc:
            log_failure(log, "notice_command_failed", exc)
            respond(response_type="ephemeral", text=DB_DOWN)
            return
        self._open_view(trigger, view)

    def on_pick_submitted(self, ack: Callable[..., None], body: dict[str, Any], view: dict[str, Any]) -> None:
        """The first modal's choice: the form for a new notice, or for an update of the one picked."""
        user = str((body.get("user") or {}).get("id") or "")
        if not self.is_it(user):
            ack(response_action="errors", errors={F_NOTICE: NOT_IT})
            return
        choice = str(submitted(view).get(F_NOTICE) or "")
        channel = view_metadata(view).get("c", "")
        try:
            with self.sessions() as session:
                if choice.startswith("new:"):
                    kind = NoticeKind(choice.removeprefix("new:"))
                    names = [s.name for s in list_systems(session=session)]
                    ack(response_action="update", view=new_notice_view(kind, names, channel=channel))
                    return
                digits = choice.removeprefix("notice:")
                notice = get_notice(session=session, notice_id=int(digits)) if digits.isdigit() else None
                if notice is None:
                    ack(response_action="errors", errors={F_NOTICE: "That notice is gone; pick another."})
                    return
                form = update_notice_view(notice, channel=channel)
        except (SQLAlchemyError, ValueError) as exc:
            log_failure(log, "notice_pick_failed", exc)
            ack(response_action="errors", errors={F_NOTICE: DB_DOWN})
            return
        ack(response_action="update", view=form)

    def on_notice_submitted(
        self, ack: Callable[..., None], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        """The notice form: post the new notice or the update; a refusal is shown by its field."""
        user = str((body.get("user") or {}).get("id") or "")
        meta = view_metadata(view)
        values = submitted(view)
        if not self.is_it(user):
            ack(response_action="errors", errors={F_BODY: NOT_IT})
            return
        who = self.agent_name(user)
        kind = (
            NoticeKind(meta.get("k", "outage"))
            if meta.get("k") in ("outage", "upgrade")
            else NoticeKind.OUTAGE
        )
        is_new = not meta.get("n", "").isdigit()
        try:
            with self.sessions() as session:
                if is_new:
                    notice = self._create(session, kind, values, who)
                else:
                    notice = self._update(session, int(meta["n"]), values, who, kind)
                session.commit()
                notice_id, status = notice.id, notice.status.value
        except _Refused as exc:
            ack(response_action="errors", errors={exc.field: exc.message[:150]})
            return
        except NoticeError as exc:
            ack(
                response_action="errors",
                errors={_field_of(exc, new=is_new, kind=kind): exc.user_message[:150]},
            )
            return
        except (SQLAlchemyError, ValueError) as exc:
            log_failure(log, "notice_submit_failed", exc)
            ack(response_action="errors", errors={F_BODY: DB_DOWN})
            return
        ack()
        log.info("event=notice_posted channel=slack notice_id=%s status=%s", notice_id, status)
        channel = meta.get("c", "")
        if channel:
            self._tell(channel, user, f"Notice {notice_id} is {status.replace('_', ' ')}.")

    def _create(self, session: Session, kind: NoticeKind, values: dict[str, Any], who: str) -> Notice:
        now = utcnow()
        return open_notice(
            session=session,
            new=NewNotice(
                kind=kind,
                title=str(values.get(F_TITLE, "")),
                systems=list(values.get(F_SYSTEMS) or []),
                body=str(values.get(F_BODY, "")),
                sites=parse_list(str(values.get(F_SITES, ""))),
                impact=Impact(values.get(F_IMPACT, "degraded")),
                next_update_at=_time(values, F_NEXT, now),
                starts_at=_time(values, F_STARTS, now),
                ends_at=_time(values, F_ENDS, now),
                staff_changes=str(values.get(F_CHANGES, "")),
                procedure_article=str(values.get(F_ARTICLE, "")),
                author=who,
            ),
            now=now,
            kb=self.settings.kb,
        )

    def _update(
        self, session: Session, notice_id: int, values: dict[str, Any], who: str, kind: NoticeKind
    ) -> Notice:
        now = utcnow()
        status = NoticeStatus(values[F_STATUS]) if values.get(F_STATUS) else None
        return update_notice(
            session=session,
            notice_id=notice_id,
            now=now,
            status=status,
            body=str(values.get(F_BODY, "")),
            next_update_at=_time(values, F_NEXT, now),
            starts_at=_time(values, F_STARTS, now),
            ends_at=_time(values, F_ENDS, now),
            # An upgrade's form shows both fields filled in: what comes back replaces them (emptied: gone).
            staff_changes=str(values.get(F_CHANGES, "")) if kind is NoticeKind.UPGRADE else None,
            procedure_article=str(values.get(F_ARTICLE, "")) if kind is NoticeKind.UPGRADE else None,
            kb=self.settings.kb,
            author=who,
        )

    # -- who is IT -----------------------------------------------------------------------------

    def is_it(self, user: str) -> bool:
        """True for a member of the triage channel or of the IT user group (asked of Slack each time:
        a person removed from IT loses the command at once)."""
        if not user:
            return False
        if self.settings.slack_it_usergroup and user in self._members(
            "usergroups.users.list", usergroup=self.settings.slack_it_usergroup
        ):
            return True
        channel = self.settings.slack_triage_channel
        return bool(channel) and user in self._members("conversations.members", channel=channel, limit=1000)

    def _members(self, method: str, **params: Any) -> set[str]:
        try:
            response = self.client.api_call(method, params=params)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log_failure(log, "slack_members_failed", exc, method=method)
            return set()
        found = response.get("users") or response.get("members") or []
        return {str(m) for m in found} if isinstance(found, list) else set()

    # -- helpers -------------------------------------------------------------------------------

    def _open_view(self, trigger: str, view: dict[str, Any]) -> None:
        try:
            self.client.views_open(trigger_id=trigger, view=view)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log_failure(log, "notice_modal_failed", exc)

    def _mark(self, body: dict[str, Any], channel: str, note: str) -> None:
        message = body.get("message")
        ts = str((message or {}).get("ts") or (body.get("container") or {}).get("message_ts") or "")
        if not isinstance(message, dict) or not ts or not channel:
            return
        blocks = with_outcome(message.get("blocks") or [], note)
        try:
            self.client.chat_update(channel=channel, ts=ts, blocks=blocks, text=plain_text(note))
        except (SlackApiError, SlackClientError, OSError) as exc:
            log_failure(log, "slack_update_failed", exc, channel=channel, ts=ts)

    def _tell(self, channel: str, user: str, text: str) -> None:
        if not channel or not user:
            return
        try:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log_failure(log, "slack_ephemeral_failed", exc, channel=channel)


class _Refused(Exception):
    """A modal value refused before anything was tried: the field and the sentence to show there."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field)
        self.field = field
        self.message = message


def _time(values: dict[str, Any], field: str, now: datetime) -> datetime | None:
    """The time typed in ``field`` (None when empty); a time that can't be read is refused there."""
    try:
        return optional_time(values.get(field), now)
    except BadScheduleError as exc:
        raise _Refused(field, exc.user_message) from None


def _field_of(exc: NoticeError, *, new: bool, kind: NoticeKind) -> str:
    """The modal field a refusal from ``bot.notices.actions`` concerns (it must be a field the modal
    has: Slack refuses errors for a block it does not show)."""
    message = exc.user_message.casefold()
    if isinstance(exc, UnknownArticleError):
        return F_ARTICLE if kind is NoticeKind.UPGRADE else F_BODY
    if "changes for staff" in message and kind is NoticeKind.UPGRADE:
        return F_CHANGES
    if isinstance(exc, BadTransitionError):
        return F_TITLE if new else F_STATUS
    if isinstance(exc, BadScheduleError):
        if kind is NoticeKind.OUTAGE:
            return F_NEXT
        return F_ENDS if "ends" in message or "ended" in message else F_STARTS
    if new and (isinstance(exc, UnknownSystemError) or "system" in message):
        return F_SYSTEMS
    if new:
        return F_TITLE if "title" in message else F_BODY
    return F_BODY


def register_notice_triage(app: App, handlers: NoticeTriageHandlers) -> None:
    """Register the draft buttons, ``/itbot-notice`` and its modals on ``app``."""
    app.action(ACTION_DRAFT_CONFIRM)(handlers.on_confirm)
    app.action(ACTION_DRAFT_DISCARD)(handlers.on_discard)
    app.action(ACTION_NOTICE_RESOLVE)(handlers.on_resolve)
    app.command(COMMAND)(handlers.on_command)
    app.view(NOTICE_PICK_VIEW)(handlers.on_pick_submitted)
    app.view(NOTICE_VIEW)(handlers.on_notice_submitted)

"""IT's side in Slack: the triage channel where each new ticket is posted with "Take it", "Reply" and
"Resolve", and where an agent's reply in a ticket's thread goes to the person who asked.

The worker posts new tickets into ``ITBOT_SLACK_TRIAGE_CHANNEL`` (``bot.tickets``' outbox); the
ticket's triage thread is that post. Here:

* a message in a ticket's triage thread → ``reply_to_requester`` (scrubbed, to every reporter's
  thread and the service desk), acknowledged with a reaction;
* "Take it" → the clicker is the assignee; "Resolve" → every reporter is told; "Reply" → a modal
  whose text goes to the requester like a thread reply;
* a ticket action that cannot be done (unknown, closed) is told to the clicker only.

Agents are named by their Slack display name (``users.info``, cached), falling back to "IT".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.slack.blocks import (
    ACTION_TICKET_REPLY,
    ACTION_TICKET_RESOLVE,
    ACTION_TICKET_TAKE,
    TICKET_REPLY_INPUT,
    TICKET_REPLY_VIEW,
    decode_value,
    ticket_reply_view,
)
from bot.channels.slack.client import add_reaction
from bot.channels.slack.events import SlackMessage
from bot.config import Settings
from bot.db import SessionFactory
from bot.interactions.recording import log_failure
from bot.tickets.actions import reply_to_requester, resolve_ticket, take_ticket
from bot.tickets.errors import TicketError
from bot.tickets.queries import find_ticket_by_triage_thread

log = logging.getLogger(__name__)

SENT_REACTION = "white_check_mark"
UNKNOWN_THREAD_REACTION = "grey_question"
DEFAULT_AGENT = "IT"


class TriageHandlers:
    """Listeners for the triage channel and the ticket buttons."""

    def __init__(
        self, settings: Settings, sessions: SessionFactory, client: WebClient, *, claim: Callable[[str], bool]
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.client = client
        self._claim = claim
        self._names: dict[str, str] = {}

    def is_triage(self, message: SlackMessage) -> bool:
        """True for a message in IT's triage channel (the bot never answers questions there)."""
        return (
            bool(self.settings.slack_triage_channel) and message.channel == self.settings.slack_triage_channel
        )

    def on_message(self, message: SlackMessage) -> None:
        """An agent's reply in a ticket's triage thread goes to the requester; other chatter is left alone."""
        if not message.thread_ts or not message.text.strip():
            return
        if not self._claim(f"slack:message:{message.channel}:{message.ts}"):
            return
        try:
            with self.sessions() as session:
                ticket = find_ticket_by_triage_thread(session=session, thread_ts=message.thread_ts)
                if ticket is None:
                    return
                reply_to_requester(
                    session=session,
                    settings=self.settings,
                    number=ticket.number,
                    agent=self.agent_name(message.user),
                    text=message.text,
                    echo_to_triage=False,
                )
        except TicketError as exc:
            self._tell(message.channel, message.user, exc.user_message, thread_ts=message.thread_ts)
            return
        except SQLAlchemyError as exc:
            log_failure(log, "triage_reply_failed", exc, channel=message.channel, thread_ts=message.thread_ts)
            self._tell(
                message.channel,
                message.user,
                "I couldn't pass that on just now (the database is unavailable). Please try again.",
                thread_ts=message.thread_ts,
            )
            return
        add_reaction(self.client, message.channel, message.ts, SENT_REACTION)

    def on_take(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        """The "Take it" button: the clicker becomes the assignee; the requester hears who is on it."""
        ack()
        self._ticket_action(
            body,
            action,
            lambda session, number, agent: take_ticket(
                session=session, settings=self.settings, number=number, agent=agent
            ),
        )

    def on_resolve(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        """The "Resolve" button: the ticket is resolved and every reporter is told."""
        ack()
        self._ticket_action(
            body,
            action,
            lambda session, number, agent: resolve_ticket(
                session=session, settings=self.settings, number=number, agent=agent
            ),
        )

    def on_reply_button(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        """The "Reply" button: open a modal for the reply to the requester."""
        ack()
        number = decode_value(action.get("value")).get("t", "")
        channel = str((body.get("channel") or {}).get("id") or "")
        message = body.get("message") or {}
        thread_ts = str(message.get("thread_ts") or message.get("ts") or "")
        trigger = body.get("trigger_id")
        if not number or not isinstance(trigger, str):
            return
        try:
            self.client.views_open(
                trigger_id=trigger, view=ticket_reply_view(number, channel=channel, thread_ts=thread_ts)
            )
        except (SlackApiError, SlackClientError, OSError) as exc:
            log_failure(log, "triage_modal_failed", exc, number=number)

    def on_reply_submitted(
        self, ack: Callable[..., None], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        """The reply modal was sent: the text goes to the requester (errors shown in the modal)."""
        meta = decode_value(view.get("private_metadata"))
        number = meta.get("t", "")
        values = (view.get("state") or {}).get("values") or {}
        text = str(((values.get(TICKET_REPLY_INPUT) or {}).get(TICKET_REPLY_INPUT) or {}).get("value") or "")
        if not text.strip():
            ack(response_action="errors", errors={TICKET_REPLY_INPUT: "Write what the person should read."})
            return
        user = str((body.get("user") or {}).get("id") or "")
        try:
            with self.sessions() as session:
                reply_to_requester(
                    session=session,
                    settings=self.settings,
                    number=number,
                    agent=self.agent_name(user),
                    text=text,
                )
        except TicketError as exc:
            ack(response_action="errors", errors={TICKET_REPLY_INPUT: exc.user_message})
            return
        except SQLAlchemyError as exc:
            log_failure(log, "triage_reply_failed", exc, number=number)
            ack(
                response_action="errors",
                errors={TICKET_REPLY_INPUT: "The database is unavailable; try again."},
            )
            return
        ack()

    def agent_name(self, user: str) -> str:
        """How the requester sees the agent: their Slack display name, or "IT"."""
        if not user:
            return DEFAULT_AGENT
        if user not in self._names:
            name = ""
            try:
                profile = self.client.users_info(user=user).get("user") or {}
                details = profile.get("profile") or {}
                name = str(
                    details.get("display_name") or details.get("real_name") or profile.get("real_name") or ""
                )
            except (SlackApiError, SlackClientError, OSError) as exc:
                log_failure(log, "slack_user_lookup_failed", exc, user=user)
            self._names[user] = name.strip()[:80] or DEFAULT_AGENT
        return self._names[user]

    # -- helpers ---------------------------------------------------------------------------------

    def _ticket_action(
        self,
        body: Mapping[str, Any],
        action: Mapping[str, Any],
        run: Callable[[Any, str, str], object],
    ) -> None:
        number = decode_value(action.get("value")).get("t", "")
        user = str((body.get("user") or {}).get("id") or "")
        channel = str((body.get("channel") or {}).get("id") or "")
        if not number:
            return
        try:
            with self.sessions() as session:
                run(session, number, self.agent_name(user))
        except TicketError as exc:
            self._tell(channel, user, exc.user_message)
        except SQLAlchemyError as exc:
            log_failure(log, "triage_action_failed", exc, number=number, action=action.get("action_id"))
            self._tell(
                channel, user, "That didn't go through (the database is unavailable). Please try again."
            )

    def _tell(self, channel: str, user: str, text: str, *, thread_ts: str | None = None) -> None:
        """A note only ``user`` sees."""
        if not channel or not user:
            return
        try:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log_failure(log, "slack_ephemeral_failed", exc, channel=channel)


def register_triage(app: App, handlers: TriageHandlers) -> None:
    """Register the ticket buttons and the reply modal on ``app``."""
    app.action(ACTION_TICKET_TAKE)(handlers.on_take)
    app.action(ACTION_TICKET_RESOLVE)(handlers.on_resolve)
    app.action(ACTION_TICKET_REPLY)(handlers.on_reply_button)
    app.view(TICKET_REPLY_VIEW)(handlers.on_reply_submitted)

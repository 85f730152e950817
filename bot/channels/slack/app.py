"""The Slack channel: a bolt app built by ``build_slack_app``, and its handlers.

Each handler is parse (``slack_events``) → core (``ConversationFlow`` over the ``Assistant``) → render
(``slack_blocks``):

* a direct message, a mention, or a message in a thread the bot is in is answered in that thread;
  the thread's earlier turns (scrubbed, from the database) go along as the question's history;
* "That fixed it" / "Still stuck" record the feedback on the interaction and replace the buttons with
  what was clicked; a clarify choice answers from that article in the thread;
* ``/itbot <question>`` answers only the person who asked; the App Home tab says how to use the bot;
* an escalation (no answer, "Still stuck", "talk to a human") runs the ticket flow in the thread
  (``bot.conversations.flow``); while a ticket is open, what the person writes goes to IT and gets a
  reaction; IT works tickets in the triage channel (``slack_triage``).

Delivery semantics: Slack's HTTP request is acknowledged before the answer is computed (bolt runs the
listeners on its executor after the ack). A delivery Slack retries (the same ``event_id``, the same
click) is claimed in the database first, so it is answered once however many server processes share
that database; a claim the database does not confirm within ``CLAIM_WAIT_SECONDS`` (it hangs) is
taken as granted, so Slack's ack and the answer never wait on a hung database (answering twice
beats not answering). The ``WebClient`` retries 429s after Retry-After, 5xx answers and connection errors;
a post that still fails is logged with ids (never message text) and queued in the outbox, which the
worker delivers once Slack is back.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.slack.blocks import (
    ACTION_CHOOSE_PREFIX,
    ACTION_FIXED,
    ACTION_NOTIFY,
    ACTION_STUCK,
    decode_value,
    escape,
    home_view,
    plain_text,
    reply_blocks,
    with_outcome,
)
from bot.channels.slack.client import add_reaction, make_client, post_message, quiet_logger
from bot.channels.slack.events import SlackMessage, delivery_key, message_from_event, thread_key, unescape
from bot.channels.slack.notice_acks import register_notice_acks
from bot.channels.slack.notice_triage import NoticeTriageHandlers, register_notice_triage
from bot.channels.slack.triage import TriageHandlers, register_triage
from bot.config import Settings
from bot.conversations.flow import ConversationFlow
from bot.conversations.queries import claim_delivery
from bot.core.assistant_like import AssistantLike
from bot.core.models import Decision, Reply
from bot.db import SessionFactory
from bot.interactions.queries import record_feedback
from bot.interactions.recording import log_failure
from bot.tickets.outbox import enqueue

CHANNEL = "slack"
LISTENER_THREADS = 8
CLAIM_THREADS = 4
# Slack wants its ack within 3 s; a claim normally takes milliseconds.
CLAIM_WAIT_SECONDS = 1.0
RELAYED_REACTION = "incoming_envelope"
CHOOSE_ACTION = re.compile(f"^{ACTION_CHOOSE_PREFIX}\\d+$")

log = logging.getLogger(__name__)


@dataclass
class SlackRuntime:
    """The bolt app and what it runs on; ``close`` waits for answers still being written."""

    app: App
    handlers: SlackHandlers
    executor: ThreadPoolExecutor

    def close(self) -> None:
        """Finish the listeners in flight and stop the executors."""
        self.executor.shutdown(wait=True, cancel_futures=False)
        self.handlers.close()


def build_slack_app(
    settings: Settings,
    *,
    assistant: AssistantLike,
    sessions: SessionFactory,
    client: WebClient | None = None,
) -> SlackRuntime:
    """The bolt app with every itbot handler registered, on explicit settings and an injectable client.

    Nothing is read from the environment. Request signatures are checked by the HTTP route before
    dispatch (``slack_http``), so bolt's own check is off; Socket Mode needs none.
    """
    web = client if client is not None else make_client(settings)
    executor = ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="slack-listener")
    app = App(
        token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret or "",
        client=web,
        token_verification_enabled=False,
        request_verification_enabled=False,
        process_before_response=False,
        listener_executor=executor,
        logger=quiet_logger("itbot.slack.bolt"),
    )
    handlers = SlackHandlers(settings, assistant, sessions, web)
    app.middleware(handlers.once_only)
    app.event("app_mention")(handlers.on_mention)
    app.event("message")(handlers.on_message)
    app.event("app_home_opened")(handlers.on_home_opened)
    app.action(ACTION_FIXED)(handlers.on_feedback)
    app.action(ACTION_STUCK)(handlers.on_feedback)
    app.action(ACTION_NOTIFY)(handlers.on_notify)
    app.block_action({"action_id": CHOOSE_ACTION})(handlers.on_choose)
    app.command("/itbot")(handlers.on_command)
    register_triage(app, handlers.triage)
    register_notice_triage(
        app, NoticeTriageHandlers(settings, sessions, web, agent_name=handlers.triage.agent_name)
    )
    register_notice_acks(app, sessions, web)
    app.error(handlers.on_error)
    return SlackRuntime(app=app, handlers=handlers, executor=executor)


class SlackHandlers:
    """The listeners: each translates a payload, runs the conversation flow, and renders the outcome."""

    def __init__(
        self, settings: Settings, assistant: AssistantLike, sessions: SessionFactory, client: WebClient
    ) -> None:
        self.settings = settings
        self.assistant = assistant
        self.sessions = sessions
        self.client = client
        self.flow = ConversationFlow(settings, assistant, sessions, channel=CHANNEL)
        self._claims = ThreadPoolExecutor(max_workers=CLAIM_THREADS, thread_name_prefix="slack-claim")
        self.triage = TriageHandlers(settings, sessions, client, claim=self._claim)

    def close(self) -> None:
        """Let the claims under way finish and stop their threads."""
        self._claims.shutdown(wait=True, cancel_futures=False)

    # -- delivery ------------------------------------------------------------------------------

    def once_only(self, body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
        """Bolt middleware: pass a delivery on only the first time its Slack id is seen.

        With the database down the delivery is passed on (answering twice beats not answering).
        """
        key = delivery_key(body)
        if key is not None and not self._claim(key):
            log.info("event=slack_duplicate key=%s", key)
            return BoltResponse(status=200, body="")
        return next()

    def _claim(self, key: str) -> bool:
        """Claim ``key``; True also when the database fails or does not answer within the wait."""
        try:
            future = self._claims.submit(self._claim_now, key)
        except RuntimeError:  # shutting down: answer rather than drop
            return True
        try:
            return future.result(timeout=CLAIM_WAIT_SECONDS)
        except FutureTimeout:
            log.warning("event=slack_claim_slow key=%s", key)
            return True

    def _claim_now(self, key: str) -> bool:
        try:
            with self.sessions() as session:
                return claim_delivery(session=session, key=key, channel=CHANNEL)
        except SQLAlchemyError as exc:
            log_failure(log, "slack_claim_failed", exc, key=key)
            return True

    # -- messages ------------------------------------------------------------------------------

    def on_mention(self, event: dict[str, Any], context: Mapping[str, Any]) -> None:
        """A mention anywhere: answer in its thread (in IT's triage channel: a reply on the ticket)."""
        message = message_from_event(event, bot_user_id=str(context.get("bot_user_id") or ""))
        if message is None:
            return
        if self.triage.is_triage(message):
            self.triage.on_message(message)
            return
        self.answer_message(message)

    def on_message(self, event: dict[str, Any], context: Mapping[str, Any]) -> None:
        """A message: answered when it is a DM, or in a thread the bot is part of; in IT's triage
        channel a reply in a ticket's thread goes to the requester; anything else is ignored."""
        message = message_from_event(event, bot_user_id=str(context.get("bot_user_id") or ""))
        if message is None:
            return
        if self.triage.is_triage(message):
            self.triage.on_message(message)
        elif message.is_dm or (message.thread_ts and self._in_thread(message.thread_key)):
            self.answer_message(message)

    def _in_thread(self, key: str) -> bool:
        with self.sessions() as session:
            return self.flow.conversation(session, key) is not None

    def answer_message(self, message: SlackMessage) -> None:
        """Answer one person's message in its thread, once: the bot's reply, an escalation step, or
        (with a ticket open) a reaction saying it went to IT."""
        # A mention in a thread the bot is in arrives twice (app_mention and message): answer once.
        if not self._claim(f"slack:message:{message.channel}:{message.ts}"):
            return
        outcome = self.flow.on_message(
            thread_key=message.thread_key,
            user=message.user,
            text=message.text,
            reply_to={"channel": message.channel, "thread_ts": message.reply_thread, "user": message.user},
            stream=message.is_dm and message.thread_ts is None,
        )
        if outcome.reply is not None:
            self.post_reply(message.channel, message.reply_thread, outcome.reply)
        elif outcome.relayed_to:
            add_reaction(self.client, message.channel, message.ts, RELAYED_REACTION)

    # -- buttons -------------------------------------------------------------------------------

    def on_feedback(
        self,
        ack: Callable[..., None],
        body: dict[str, Any],
        action: dict[str, Any],
        respond: Callable[..., Any],
    ) -> None:
        """The feedback buttons: record "That fixed it" / "Still stuck" on the interaction, show what
        was clicked, and for "Still stuck" hand the conversation to IT."""
        ack()
        helpful = action.get("action_id") == ACTION_FIXED
        interaction_id = decode_value(action.get("value")).get("i", "")
        user = str(body.get("user", {}).get("id", ""))
        channel, message_ts, thread_ts = _container(body)
        if interaction_id:
            try:
                with self.sessions() as session:
                    record_feedback(session=session, interaction_id=interaction_id, helpful=helpful)
            except SQLAlchemyError as exc:
                log_failure(log, "slack_feedback_failed", exc, interaction_id=interaction_id)
        log.info("event=feedback channel=slack interaction_id=%s helpful=%s", interaction_id or "-", helpful)
        note = (
            f":white_check_mark: <@{user}> said this fixed it. Thanks for letting us know."
            if helpful
            else f":wrench: <@{user}> is still stuck."
        )
        self._mark_message(body, channel, message_ts, note)
        key = _conversation_key(body, channel, thread_ts, user)
        if helpful:
            with self.sessions() as session:
                self.flow.remember_event(session, key, user, "fixed")
            if _is_ephemeral(body):
                self._respond(respond, Reply(Decision.ANSWER, "Glad that helped."))
            return
        reply_to = {"channel": channel, "thread_ts": thread_ts, "user": user}
        outcome = self.flow.on_stuck(thread_key=key, user=user, reply_to=reply_to)
        if outcome.reply is None:
            return
        if _is_ephemeral(body):
            self._respond(respond, outcome.reply)
        else:
            self.post_reply(channel, thread_ts, outcome.reply)

    def on_notify(
        self,
        ack: Callable[..., None],
        body: dict[str, Any],
        action: dict[str, Any],
        respond: Callable[..., Any],
    ) -> None:
        """ "Tell me when it's fixed" on an outage reply: add the person to the notice's subscribers
        (their thread is where they will be told) and show it on the message; a notice that already
        ended is said so to the person alone."""
        ack()
        user = str(body.get("user", {}).get("id", ""))
        channel, message_ts, thread_ts = _container(body)
        notice = str(decode_value(action.get("value")).get("n", ""))
        reply_to = {"channel": channel, "thread_ts": thread_ts or message_ts, "user": user}
        said = self.flow.subscribe_to_notice(notice=notice, user=user, reply_to=reply_to)
        if said:
            self._respond(respond, Reply(Decision.OUTAGE, said))
            return
        self._mark_message(body, channel, message_ts, f":bell: <@{user}> will be told here when it's fixed.")

    def on_choose(
        self,
        ack: Callable[..., None],
        body: dict[str, Any],
        action: dict[str, Any],
        respond: Callable[..., Any],
    ) -> None:
        """A clarify choice: answer from the chosen article in the thread, with the thread's question."""
        ack()
        article_id = decode_value(action.get("value")).get("a", "")
        user = str(body.get("user", {}).get("id", ""))
        channel, message_ts, thread_ts = _container(body)
        outcome = self.flow.choose(
            thread_key=_conversation_key(body, channel, thread_ts, user),
            user=user,
            article_id=article_id,
            reply_to={"channel": channel, "thread_ts": thread_ts, "user": user},
            stream=_is_ephemeral(body),
        )
        if outcome is None or outcome.reply is None:
            self._post_text(channel, thread_ts, "Sorry, that article isn't available any more. Try again.")
            return
        reply = outcome.reply
        if _is_ephemeral(body):
            self._respond(respond, reply)
            return
        title = reply.citations[0].title if reply.citations else article_id
        self._mark_message(body, channel, message_ts, f":point_right: <@{user}> picked *{escape(title)}*")
        self.post_reply(channel, thread_ts, reply)

    # -- slash command and home ----------------------------------------------------------------

    def on_command(
        self, ack: Callable[..., None], command: dict[str, Any], respond: Callable[..., Any]
    ) -> None:
        """``/itbot <question>``: answered only to the person who asked."""
        ack()
        text = unescape(str(command.get("text") or ""))
        user = str(command.get("user_id") or "")
        channel = str(command.get("channel_id") or "")
        if not text.strip():
            respond(response_type="ephemeral", text="Ask me after the command, e.g. `/itbot citrix frozen`.")
            return
        outcome = self.flow.on_message(
            thread_key=command_key(channel, user),
            user=user,
            text=text,
            reply_to={"channel": channel, "user": user},
            stream=True,
        )
        reply = outcome.reply
        if reply is None:
            reply = Reply(Decision.ESCALATE, f"Added to ticket **{outcome.relayed_to}**; IT will see it.")
        self._respond(respond, reply)

    def _respond(self, respond: Callable[..., Any], reply: Reply) -> None:
        """Answer only the person who asked (a slash command's or an ephemeral message's response_url)."""
        blocks = reply_blocks(reply, self.settings.public_url)
        try:
            respond(
                response_type="ephemeral", replace_original=False, text=plain_text(reply.text), blocks=blocks
            )
        except (SlackApiError, SlackClientError, OSError) as exc:
            log_failure(log, "slack_respond_failed", exc, interaction_id=reply.interaction_id or "-")

    def on_home_opened(self, event: dict[str, Any], context: Mapping[str, Any]) -> None:
        """Publish the App Home tab when someone opens it."""
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        bot_user = str(context.get("bot_user_id") or "")
        view = home_view(phone=self.settings.service_desk_phone, bot_user_id=bot_user)
        try:
            self.client.views_publish(user_id=str(event["user"]), view=view)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log_failure(log, "slack_home_failed", exc, user=event.get("user"))

    def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        """Bolt's last resort: log the error's type and the delivery's ids (never the payload)."""
        log_failure(log, "slack_listener_failed", error, key=delivery_key(body) or "-")

    # -- posting -------------------------------------------------------------------------------

    def post_reply(self, channel: str, thread_ts: str | None, reply: Reply) -> str | None:
        """Post ``reply`` as Block Kit in ``channel`` (and thread); the message's ts, or None if it failed.

        A post that still fails after the client's retries is handed to the outbox, so the worker
        delivers its text (without buttons) once Slack takes posts again.
        """
        blocks = reply_blocks(reply, self.settings.public_url)
        text = plain_text(reply.text)
        ts = post_message(self.client, channel, thread_ts, text, blocks, reply.interaction_id)
        if ts is None:
            self._post_later(channel, thread_ts, reply)
        return ts

    def _post_later(self, channel: str, thread_ts: str | None, reply: Reply) -> None:
        key = f"slack:reply:{channel}:{thread_ts or '-'}:{reply.interaction_id or uuid.uuid4()}"
        payload = {
            "channel": CHANNEL,
            "reply_to": {"channel": channel, "thread_ts": thread_ts},
            "text": reply.text,
            "ticket_number": "",
            "kind": "reply",
        }
        try:
            with self.sessions() as session:
                enqueue(
                    session=session, target="chat", topic="chat.message", payload=payload, idempotency_key=key
                )
                session.commit()
        except SQLAlchemyError as exc:
            log_failure(
                log, "slack_post_lost", exc, channel=channel, interaction_id=reply.interaction_id or "-"
            )
            return
        log.info("event=slack_post_queued channel=%s interaction_id=%s", channel, reply.interaction_id or "-")

    def _post_text(self, channel: str, thread_ts: str | None, text: str) -> str | None:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": escape(text)}}]
        return post_message(self.client, channel, thread_ts, text, blocks, None)

    def _mark_message(self, body: dict[str, Any], channel: str, message_ts: str, note: str) -> None:
        """Replace the clicked message's buttons with ``note``."""
        message = body.get("message")
        if not isinstance(message, dict) or not message_ts or not channel:
            return
        blocks = with_outcome(message.get("blocks") or [], note)
        try:
            self.client.chat_update(channel=channel, ts=message_ts, blocks=blocks, text=plain_text(note))
        except (SlackApiError, SlackClientError, OSError) as exc:
            log_failure(log, "slack_update_failed", exc, channel=channel, ts=message_ts)


def command_key(channel: str, user: str) -> str:
    """The conversation of one person's ``/itbot`` questions in one channel (answered only to them)."""
    return f"{channel}:cmd:{user}"


def _is_ephemeral(body: Mapping[str, Any]) -> bool:
    return bool((body.get("container") or {}).get("is_ephemeral"))


def _conversation_key(body: Mapping[str, Any], channel: str, thread_ts: str | None, user: str) -> str:
    """The conversation a button belongs to: a slash command's (ephemeral) or the message's thread."""
    return command_key(channel, user) if _is_ephemeral(body) else thread_key(channel, thread_ts)


def _container(body: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """(channel, message ts, thread ts) of the message a button was clicked on."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    message_ts = str(container.get("message_ts") or message.get("ts") or "")
    thread_ts = container.get("thread_ts") or message.get("thread_ts")
    return channel, message_ts, str(thread_ts) if thread_ts else None

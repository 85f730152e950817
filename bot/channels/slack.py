"""The Slack channel: a bolt app built by ``build_slack_app``, and its handlers.

Each handler is parse (``slack_events``) → core (``Assistant``) → render (``slack_blocks``):

* a direct message, a mention, or a message in a thread the bot is in is answered in that thread;
  the thread's earlier turns (scrubbed, from the database) go along as the question's history;
* "That fixed it" / "Still stuck" record the feedback on the interaction and replace the buttons with
  what was clicked; a clarify choice answers from that article in the thread;
* ``/itbot <question>`` answers only the person who asked; the App Home tab says how to use the bot.

Delivery semantics: Slack's HTTP request is acknowledged before the answer is computed (bolt runs the
listeners on its executor after the ack). A delivery Slack retries (the same ``event_id``, the same
click) is claimed in the database first, so it is answered once however many server processes share
that database. The ``WebClient`` retries 429s after Retry-After, 5xx answers and connection errors;
a post that still fails is logged with ids, never with message text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.channels.slack_blocks import (
    ACTION_CHOOSE_PREFIX,
    ACTION_FIXED,
    ACTION_STUCK,
    decode_value,
    escape,
    home_view,
    plain_text,
    reply_blocks,
    with_outcome,
)
from bot.channels.slack_events import SlackMessage, delivery_key, message_from_event, thread_key, unescape
from bot.config import Settings
from bot.conversations.models import Conversation
from bot.conversations.models import Turn as StoredTurn
from bot.conversations.queries import add_turns, claim_delivery, get_conversation
from bot.core.errors import ItbotError
from bot.core.models import Decision, Question, Reply, Turn
from bot.core.scrub import scrub
from bot.db import SessionFactory
from bot.deps import AssistantLike
from bot.interactions.queries import record_feedback
from bot.interactions.recording import log_failure, record_reply

CHANNEL = "slack"
# A top-level DM conversation is one stream; turns older than this are a different question.
DM_MEMORY = timedelta(minutes=30)
LISTENER_THREADS = 8

log = logging.getLogger(__name__)


def quiet_logger(name: str) -> logging.Logger:
    """A logger for the Slack SDKs that passes errors only: their debug and warning lines quote payloads."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.ERROR)
    return logger


def make_client(settings: Settings) -> WebClient:
    """A ``WebClient`` for ``settings.slack_api_url`` that retries 429 (after Retry-After), 5xx and
    connection errors."""
    client = WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        logger=quiet_logger("itbot.slack.sdk"),
    )
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=2))
    return client


@dataclass
class SlackRuntime:
    """The bolt app and what it runs on; ``close`` waits for answers still being written."""

    app: App
    handlers: SlackHandlers
    executor: ThreadPoolExecutor

    def close(self) -> None:
        """Finish the listeners in flight and stop the executor."""
        self.executor.shutdown(wait=True, cancel_futures=False)


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
    app.block_action({"action_id": _choose_pattern()})(handlers.on_choose)
    app.command("/itbot")(handlers.on_command)
    app.error(handlers.on_error)
    return SlackRuntime(app=app, handlers=handlers, executor=executor)


def _choose_pattern() -> Any:
    import re

    return re.compile(f"^{ACTION_CHOOSE_PREFIX}\\d+$")


class SlackHandlers:
    """The listeners: each translates a payload, asks the core, and renders the reply."""

    def __init__(
        self, settings: Settings, assistant: AssistantLike, sessions: SessionFactory, client: WebClient
    ) -> None:
        self.settings = settings
        self.assistant = assistant
        self.sessions = sessions
        self.client = client

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
        try:
            with self.sessions() as session:
                return claim_delivery(session=session, key=key, channel=CHANNEL)
        except SQLAlchemyError as exc:
            log_failure(log, "slack_claim_failed", exc, key=key)
            return True

    # -- messages ------------------------------------------------------------------------------

    def on_mention(self, event: dict[str, Any], context: Mapping[str, Any]) -> None:
        """A mention anywhere: answer in its thread."""
        message = message_from_event(event, bot_user_id=str(context.get("bot_user_id") or ""))
        if message is not None:
            self.answer_message(message)

    def on_message(self, event: dict[str, Any], context: Mapping[str, Any]) -> None:
        """A message: answered when it is a DM, or in a thread the bot is part of; ignored otherwise."""
        message = message_from_event(event, bot_user_id=str(context.get("bot_user_id") or ""))
        if message is None:
            return
        if message.is_dm or (message.thread_ts and self._in_thread(message.thread_key)):
            self.answer_message(message)

    def _in_thread(self, key: str) -> bool:
        try:
            with self.sessions() as session:
                return get_conversation(session=session, channel=CHANNEL, thread_key=key) is not None
        except SQLAlchemyError as exc:
            log_failure(log, "slack_thread_lookup_failed", exc)
            return False

    def answer_message(self, message: SlackMessage) -> None:
        """Answer one person's message in its thread, once, and remember the turn."""
        started = time.perf_counter()
        # A mention in a thread the bot is in arrives twice (app_mention and message): answer once.
        if not self._claim(f"slack:message:{message.channel}:{message.ts}"):
            return
        with self.sessions() as session:
            conversation = self._conversation(session, message.thread_key)
            question = Question(
                text=message.text,
                channel=CHANNEL,
                user=message.user,
                reply_to={
                    "channel": message.channel,
                    "thread_ts": message.reply_thread,
                    "user": message.user,
                },
                history=history_of(conversation, dm=message.thread_ts is None and message.is_dm),
            )
            reply = self._ask(question)
            reply = self._record(session, question, reply, started)
            # Remembered before posting, so a reply typed the moment the answer shows sees this turn.
            self._remember(session, message.thread_key, message.user, reply)
            self.post_reply(message.channel, message.reply_thread, reply)

    # -- buttons -------------------------------------------------------------------------------

    def on_feedback(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        """ "That fixed it" / "Still stuck": record it on the interaction and show what was clicked."""
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
        with self.sessions() as session:
            self._remember_event(
                session, thread_key(channel, thread_ts), user, "fixed" if helpful else "stuck"
            )
        if not helpful:
            self._post_text(
                channel,
                thread_ts,
                "I've noted that this didn't fix it. If it's urgent or a patient is waiting, call the "
                f"service desk at {self.settings.service_desk_phone}.",
            )

    def on_choose(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        """A clarify choice: answer from the chosen article in the thread, with the thread's question."""
        started = time.perf_counter()
        ack()
        fields = decode_value(action.get("value"))
        article_id = fields.get("a", "")
        user = str(body.get("user", {}).get("id", ""))
        channel, message_ts, thread_ts = _container(body)
        key = thread_key(channel, thread_ts)
        with self.sessions() as session:
            conversation = self._conversation(session, key)
            earlier = _last_user_text(conversation)
            question = Question(
                text=earlier,
                channel=CHANNEL,
                user=user,
                reply_to={"channel": channel, "thread_ts": thread_ts, "user": user},
            )
            try:
                reply = self.assistant.answer_from(article_id, question) if article_id else None
            except Exception as exc:  # the person still gets a sentence, the log gets the type
                log_failure(log, "slack_choose_failed", exc, article=article_id)
                reply = None
            if reply is None:
                self._post_text(
                    channel, thread_ts, "Sorry, that article isn't available any more. Try asking again."
                )
                return
            reply = self._record(session, question, reply, started)
            title = reply.citations[0].title if reply.citations else article_id
            self._remember_event(session, key, user, f"chose {article_id}")
            self._remember(session, key, user, reply, include_question=False)
            self._mark_message(body, channel, message_ts, f":point_right: <@{user}> picked *{escape(title)}*")
            self.post_reply(channel, thread_ts, reply)

    # -- slash command and home ----------------------------------------------------------------

    def on_command(
        self, ack: Callable[..., None], command: dict[str, Any], respond: Callable[..., Any]
    ) -> None:
        """``/itbot <question>``: answered only to the person who asked."""
        started = time.perf_counter()
        ack()
        text = unescape(str(command.get("text") or ""))
        user = str(command.get("user_id") or "")
        channel = str(command.get("channel_id") or "")
        if not text.strip():
            respond(
                response_type="ephemeral",
                text="Ask me after the command, e.g. `/itbot citrix frozen on the wow`.",
            )
            return
        key = f"{channel}:cmd:{user}"
        with self.sessions() as session:
            question = Question(
                text=text, channel=CHANNEL, user=user, reply_to={"channel": channel, "user": user}
            )
            reply = self._record(session, question, self._ask(question), started)
            try:
                respond(
                    response_type="ephemeral",
                    text=plain_text(reply.text),
                    blocks=reply_blocks(reply, self.settings.public_url),
                )
            except (SlackApiError, SlackClientError, OSError) as exc:
                log_failure(
                    log, "slack_respond_failed", exc, channel=channel, interaction_id=reply.interaction_id
                )
            self._remember(session, key, user, reply)

    def on_home_opened(self, event: dict[str, Any], context: Mapping[str, Any]) -> None:
        """Publish the App Home tab when someone opens it."""
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        view = home_view(
            phone=self.settings.service_desk_phone, bot_user_id=str(context.get("bot_user_id") or "")
        )
        try:
            self.client.views_publish(user_id=str(event["user"]), view=view)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log_failure(log, "slack_home_failed", exc, user=event.get("user"))

    def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        """Bolt's last resort: log the error's type and the delivery's ids (never the payload)."""
        log_failure(log, "slack_listener_failed", error, key=delivery_key(body) or "-")

    # -- helpers ---------------------------------------------------------------------------------

    def _ask(self, question: Question) -> Reply:
        try:
            return self.assistant.ask(question)
        except ItbotError as exc:
            log.warning("event=ask_failed code=%s channel=%s", exc.code, CHANNEL)
            return fallback_reply(self.settings, exc.user_message, question.text)
        except Exception as exc:  # the core promises not to raise; the person still gets a sentence
            log_failure(log, "ask_failed", exc, channel=CHANNEL)
            return fallback_reply(self.settings, None, question.text)

    def _record(self, session: Session, question: Question, reply: Reply, started: float) -> Reply:
        latency_ms = int((time.perf_counter() - started) * 1000)
        row = record_reply(session=session, question=question, reply=reply, latency_ms=latency_ms)
        return replace(reply, interaction_id=row.id if row is not None else None)

    def _conversation(self, session: Session, key: str) -> Conversation | None:
        try:
            return get_conversation(session=session, channel=CHANNEL, thread_key=key)
        except SQLAlchemyError as exc:
            session.rollback()
            log_failure(log, "slack_thread_lookup_failed", exc)
            return None

    def _remember(
        self, session: Session, key: str, user: str, reply: Reply, *, include_question: bool = True
    ) -> None:
        turns = []
        if include_question:
            turns.append(StoredTurn(role="user", text=reply.asked, interaction_id=reply.interaction_id))
        turns.append(
            StoredTurn(
                role="bot",
                decision=reply.decision.value,
                articles=[c.article for c in reply.citations],
                interaction_id=reply.interaction_id,
            )
        )
        self._add_turns(session, key, user, turns)

    def _remember_event(self, session: Session, key: str, user: str, what: str) -> None:
        self._add_turns(session, key, user, [StoredTurn(role="event", text=what)])

    def _add_turns(self, session: Session, key: str, user: str, turns: list[StoredTurn]) -> None:
        try:
            add_turns(session=session, channel=CHANNEL, thread_key=key, user_id=user, turns=turns)
        except SQLAlchemyError as exc:
            session.rollback()
            log_failure(log, "slack_remember_failed", exc)

    def post_reply(self, channel: str, thread_ts: str | None, reply: Reply) -> str | None:
        """Post ``reply`` as Block Kit in ``channel`` (and thread); the message's ts, or None if it failed."""
        return self._post(
            channel,
            thread_ts,
            plain_text(reply.text),
            reply_blocks(reply, self.settings.public_url),
            reply.interaction_id,
        )

    def _post_text(self, channel: str, thread_ts: str | None, text: str) -> str | None:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": escape(text)}}]
        return self._post(channel, thread_ts, text, blocks, None)

    def _post(
        self,
        channel: str,
        thread_ts: str | None,
        text: str,
        blocks: list[dict[str, Any]],
        interaction_id: str | None,
    ) -> str | None:
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except (SlackApiError, SlackClientError, OSError) as exc:
            log_failure(
                log,
                "slack_post_failed",
                exc,
                channel=channel,
                thread_ts=thread_ts or "-",
                interaction_id=interaction_id or "-",
            )
            return None
        ts = response.get("ts")
        log.info(
            "event=slack_posted channel=%s thread_ts=%s ts=%s interaction_id=%s",
            channel,
            thread_ts or "-",
            ts,
            interaction_id or "-",
        )
        return str(ts) if ts else None

    def _mark_message(self, body: dict[str, Any], channel: str, message_ts: str, note: str) -> None:
        """Replace the clicked message's buttons with ``note``; ephemeral messages via response_url."""
        message = body.get("message")
        if not isinstance(message, dict) or not message_ts or not channel:
            return
        blocks = with_outcome(message.get("blocks") or [], note)
        try:
            self.client.chat_update(channel=channel, ts=message_ts, blocks=blocks, text=plain_text(note))
        except (SlackApiError, SlackClientError, OSError) as exc:
            log_failure(log, "slack_update_failed", exc, channel=channel, ts=message_ts)


def history_of(
    conversation: Conversation | None, *, dm: bool, now: datetime | None = None
) -> tuple[Turn, ...]:
    """The conversation's user and bot turns as the core's history (oldest first).

    For a top-level DM conversation only turns from the last ``DM_MEMORY`` count: a DM is one long
    stream, and an hour later a new message is a new question.
    """
    if conversation is None:
        return ()
    cutoff = (now or datetime.now(UTC)) - DM_MEMORY
    turns: list[Turn] = []
    for raw in conversation.turns:
        turn = StoredTurn.model_validate(raw)
        if dm and turn.at:
            try:
                if datetime.fromisoformat(turn.at) < cutoff:
                    continue
            except ValueError:
                continue
        if turn.role in ("user", "bot"):
            turns.append(Turn(role=turn.role, text=turn.text, articles=tuple(turn.articles)))
    return tuple(turns)


def _last_user_text(conversation: Conversation | None) -> str:
    if conversation is None:
        return ""
    for raw in reversed(conversation.turns):
        if raw.get("role") == "user" and raw.get("text"):
            return str(raw["text"])
    return ""


def _container(body: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """(channel, message ts, thread ts) of the message a button was clicked on."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    message_ts = str(container.get("message_ts") or message.get("ts") or "")
    thread_ts = container.get("thread_ts") or message.get("thread_ts")
    return channel, message_ts, str(thread_ts) if thread_ts else None


def fallback_reply(settings: Settings, message: str | None, asked_text: str) -> Reply:
    """What the person sees when the core could not answer at all."""
    text = message or "Sorry, I couldn't look that up just now. Please try again in a minute."
    return Reply(
        decision=Decision.ESCALATE,
        text=f"{text} If it's urgent, call the service desk at {settings.service_desk_phone}.",
        asked=scrub(asked_text).text,
    )

"""The Teams turn handler: parse the activity (``activities``) → the conversation flow → render
(``cards``) and post through the SDK's turn context.

* a personal chat message, a mention in a channel or group chat, and a message in a channel thread
  the bot is in are answered in that conversation (a channel thread keeps its thread);
* a click on a card goes to the flow ("That fixed it", "Still stuck", a clarify choice, "Tell me
  when it's fixed") and the clicked card is updated: its buttons replaced by what was clicked;
* while a ticket is open, what the person writes goes to IT (the flow relays it) and the bot says so.

Replies are posted after the HTTP request was answered (``bot.channels.teams.http``). A post the
connector refuses with a 429 or 5xx is tried again with back-off; one that still fails goes to the
outbox, from which the worker delivers it (``bot.channels.teams.sender``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.teams.activities import TeamsMessage, message_from_activity
from bot.channels.teams.cards import message_card, reply_card, with_outcome
from bot.channels.teams.connector import (
    SEND_ATTEMPTS,
    card_activity,
    delay_for,
    without_retries,
    worth_retrying,
)
from bot.channels.teams.notice_acks import take_ack
from bot.channels.teams.queries import get_card, save_card
from bot.config import Settings
from bot.conversations.flow import ConversationFlow
from bot.core.assistant_like import AssistantLike
from bot.core.models import Reply
from bot.db import SessionFactory
from bot.interactions.queries import record_feedback
from bot.interactions.recording import log_failure
from bot.tickets.outbox import enqueue

CHANNEL = "teams"
# Threads that run the conversation flow (database, retrieval) for the turns in flight; their own,
# so that a burst of questions never queues ahead of the event loop's other blocking work. As many
# as there are cores: the flow is CPU-bound (the model, retrieval in Python), and every extra
# runnable thread takes GIL time from the event loop, which must keep acknowledging Teams at once
# (at 8 threads on 2 cores, acknowledgements waited seconds behind answers being computed).
FLOW_THREADS = max(1, min(8, os.cpu_count() or 1))
log = logging.getLogger(__name__)
T = TypeVar("T")


class TeamsBot:
    """Translates Teams activities for the conversation flow and renders what it says."""

    def __init__(self, settings: Settings, assistant: AssistantLike, sessions: SessionFactory) -> None:
        self.settings = settings
        self.sessions = sessions
        self.flow = ConversationFlow(settings, assistant, sessions, channel=CHANNEL)
        self._threads = ThreadPoolExecutor(max_workers=FLOW_THREADS, thread_name_prefix="teams-flow")

    def close(self) -> None:
        """Stop the flow's threads (the turns still running finish)."""
        self._threads.shutdown(wait=False)

    async def _run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on the flow's threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, functools.partial(fn, *args, **kwargs))

    async def on_turn(self, context: TurnContext, raw: Mapping[str, Any]) -> None:
        """Handle one authenticated activity (``raw``: its JSON as received; the SDK's model drops
        fields of entities, such as who a mention names). Never raises."""
        connector = context.turn_state.get(context.adapter.BOT_CONNECTOR_CLIENT_KEY)
        without_retries(connector)
        message = message_from_activity(raw)
        if message is None:
            return
        try:
            if message.click is not None:
                await self._on_click(context, message)
            elif await self._run(self._should_answer, message):
                await self._on_message(context, message)
        except Exception as exc:  # the last resort: the log gets the type and ids, never the text
            log_failure(log, "teams_turn_failed", exc, activity=message.activity_id or "-")

    # -- messages --------------------------------------------------------------------------------

    def _should_answer(self, message: TeamsMessage) -> bool:
        """Personal chats always; channels and group chats when the bot is mentioned, or (a channel
        thread) when the bot is already part of the thread."""
        if message.conversation_type == "personal" or message.mentioned:
            return True
        if not message.in_channel_thread:
            return False
        with self.sessions() as session:
            return self.flow.conversation(session, message.thread_key) is not None

    async def _on_message(self, context: TurnContext, message: TeamsMessage) -> None:
        outcome = await self._run(
            self.flow.on_message,
            thread_key=message.thread_key,
            user=message.user,
            text=message.text,
            reply_to=message.reference,
            stream=message.stream,
        )
        if outcome.reply is not None:
            await self.post_reply(context, message, outcome.reply)
        elif outcome.relayed_to:
            note = f"Sent to IT on ticket **{outcome.relayed_to}**."
            await self._post(context, message, message_card(note), note)

    # -- clicks ----------------------------------------------------------------------------------

    async def _on_click(self, context: TurnContext, message: TeamsMessage) -> None:
        click = message.click
        assert click is not None
        if click.kind == "fixed":
            await self._run(self._feedback, message, click.interaction_id, True)
            await self._mark_card(context, message, "✅ You said this fixed it. Thanks for letting us know.")
            return
        if click.kind == "stuck":
            await self._run(self._feedback, message, click.interaction_id, False)
            await self._mark_card(context, message, "🔧 You're still stuck.")
            outcome = await self._run(
                self.flow.on_stuck,
                thread_key=message.thread_key,
                user=message.user,
                reply_to=message.reference,
            )
            if outcome.reply is not None:
                await self.post_reply(context, message, outcome.reply)
            return
        if click.kind == "choose":
            await self._on_choose(context, message, click.article)
            return
        if click.kind == "notify":
            await self._on_notify(context, message, click.notice)
            return
        if click.kind == "ack":
            await self._on_ack(context, message, click.notice)

    async def _on_ack(self, context: TurnContext, message: TeamsMessage, notice: str) -> None:
        """ "Got it" on a notice card: counted once a person, the card shows the new count."""
        outcome = await self._run(
            take_ack,
            self.sessions,
            notice=notice,
            user=message.user,
            conversation=message.conversation_id,
            card_id=message.card_id,
        )
        if outcome.said:
            await self._post(context, message, message_card(outcome.said), outcome.said)
        elif outcome.card is not None:
            await self._update_card(context, message, outcome.card, "Got it")

    def _feedback(self, message: TeamsMessage, interaction_id: str, helpful: bool) -> None:
        try:
            with self.sessions() as session:
                if interaction_id:
                    record_feedback(session=session, interaction_id=interaction_id, helpful=helpful)
                if helpful:
                    self.flow.remember_event(session, message.thread_key, message.user, "fixed")
        except SQLAlchemyError as exc:
            log_failure(log, "teams_feedback_failed", exc, interaction_id=interaction_id or "-")
        log.info("event=feedback channel=teams interaction_id=%s helpful=%s", interaction_id or "-", helpful)

    async def _on_choose(self, context: TurnContext, message: TeamsMessage, article: str) -> None:
        outcome = await self._run(
            self.flow.choose,
            thread_key=message.thread_key,
            user=message.user,
            article_id=article,
            reply_to=message.reference,
            stream=message.stream,
        )
        if outcome is None or outcome.reply is None:
            note = "Sorry, that article isn't available any more. Try asking again."
            await self._post(context, message, message_card(note), note)
            return
        reply = outcome.reply
        title = reply.citations[0].title if reply.citations else article
        await self._mark_card(context, message, f"👉 You picked **{title}**")
        await self.post_reply(context, message, reply)

    async def _on_notify(self, context: TurnContext, message: TeamsMessage, notice: str) -> None:
        said = await self._run(
            self.flow.subscribe_to_notice, notice=notice, user=message.user, reply_to=message.reference
        )
        if said:
            await self._post(context, message, message_card(said), said)
            return
        await self._mark_card(context, message, "🔔 You'll be told here when it's fixed.")

    # -- posting ---------------------------------------------------------------------------------

    async def post_reply(self, context: TurnContext, message: TeamsMessage, reply: Reply) -> str | None:
        """Post ``reply`` as an Adaptive Card in the message's conversation (its thread in a channel);
        the posted activity's id, or None when it went to the outbox instead."""
        card = reply_card(reply, self.settings.public_url)
        posted = await self._post(context, message, card, reply.text, key=reply.interaction_id)
        if posted and card.get("actions"):
            await self._run(self._keep_card, message.conversation_id, posted, card)
        return posted

    async def _post(
        self,
        context: TurnContext,
        message: TeamsMessage,
        card: dict[str, Any],
        markdown: str,
        *,
        key: str | None = None,
    ) -> str | None:
        activity = card_activity(card, markdown)
        for attempt in range(SEND_ATTEMPTS):
            try:
                response = await context.send_activity(activity)
            except Exception as exc:  # msrest raises its own types; classified by status
                if attempt + 1 < SEND_ATTEMPTS and worth_retrying(exc):
                    await asyncio.sleep(delay_for(attempt, exc))
                    continue
                log_failure(log, "teams_post_failed", exc, conversation=message.activity_id or "-")
                await self._run(self._post_later, message, markdown, key)
                return None
            posted = str(getattr(response, "id", "") or "")
            log.info("event=teams_posted activity=%s posted=%s", message.activity_id or "-", posted or "-")
            return posted or None
        return None

    def _post_later(self, message: TeamsMessage, markdown: str, key: str | None) -> None:
        """Queue the text (no buttons) in the outbox; the worker posts it once the connector takes it."""
        payload = {
            "channel": CHANNEL,
            "reply_to": message.reference,
            "text": markdown,
            "ticket_number": "",
            "kind": "reply",
        }
        idempotency = f"teams:reply:{message.activity_id}:{key or uuid.uuid4()}"
        try:
            with self.sessions() as session:
                enqueue(
                    session=session,
                    target="chat",
                    topic="chat.message",
                    payload=payload,
                    idempotency_key=idempotency[:255],
                )
                session.commit()
        except SQLAlchemyError as exc:
            log_failure(log, "teams_post_lost", exc, activity=message.activity_id or "-")
            return
        log.info("event=teams_post_queued activity=%s", message.activity_id or "-")

    def _keep_card(self, conversation_id: str, posted: str, card: dict[str, Any]) -> None:
        try:
            with self.sessions() as session:
                save_card(session=session, conversation_id=conversation_id, posted_id=posted, card=card)
        except SQLAlchemyError as exc:
            log_failure(log, "teams_card_not_kept", exc, posted=posted)

    def _card(self, conversation_id: str, posted: str) -> dict[str, Any] | None:
        try:
            with self.sessions() as session:
                return get_card(session=session, conversation_id=conversation_id, posted_id=posted)
        except SQLAlchemyError as exc:
            log_failure(log, "teams_card_lookup_failed", exc, posted=posted)
            return None

    async def _mark_card(self, context: TurnContext, message: TeamsMessage, note: str) -> None:
        """Replace the clicked card's buttons with ``note`` (an update of the posted activity)."""
        if not message.card_id:
            return
        posted = await self._run(self._card, message.conversation_id, message.card_id)
        if posted is None:
            return
        updated = with_outcome(posted, note)
        if await self._update_card(context, message, updated, note):
            await self._run(self._keep_card, message.conversation_id, message.card_id, updated)

    async def _update_card(
        self, context: TurnContext, message: TeamsMessage, card: dict[str, Any], note: str
    ) -> bool:
        """Replace the clicked card (``message.card_id``) with ``card``; True once the connector took it."""
        activity = card_activity(card, note, activity_id=message.card_id)
        activity.type = ActivityTypes.message
        for attempt in range(SEND_ATTEMPTS):
            try:
                await context.update_activity(activity)
            except Exception as exc:  # msrest raises its own types; classified by status
                if attempt + 1 < SEND_ATTEMPTS and worth_retrying(exc):
                    await asyncio.sleep(delay_for(attempt, exc))
                    continue
                log_failure(log, "teams_update_failed", exc, posted=message.card_id)
                return False
            return True
        return False


def proactive_activity(text: str, ticket_number: str, base_url: str) -> Activity:
    """The message the worker posts about a ticket: a card with the text, headed by the ticket number."""
    return card_activity(message_card(text, base_url=base_url, ticket_number=ticket_number), text)

""" "Got it" on a notice in Slack: record the person's acknowledgement (once) and show the new count on
the message they tapped (the notice's post or a reminder)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.slack.blocks import decode_value
from bot.channels.slack.notice_post_blocks import (
    ACK_BLOCK_ID,
    ACTION_NOTICE_ACK,
    ACTION_NOTICE_PROCEDURE,
    ack_line,
)
from bot.core.errors import ItbotError
from bot.db import SessionFactory
from bot.interactions.models import utcnow
from bot.interactions.recording import log_failure
from bot.notices.acks import acknowledge

log = logging.getLogger(__name__)


def with_count(blocks: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``blocks`` with the count under the "Got it" button replaced by ``count`` (pure)."""
    out: list[dict[str, Any]] = []
    after_button = False
    for block in blocks:
        if after_button and block.get("type") == "context":
            block = {"type": "context", "elements": [{"type": "mrkdwn", "text": ack_line(count)}]}
        after_button = block.get("block_id") == ACK_BLOCK_ID
        out.append(block)
    return out


class NoticeAckHandler:
    """The listener for ``ACTION_NOTICE_ACK``."""

    def __init__(self, sessions: SessionFactory, client: WebClient) -> None:
        self.sessions = sessions
        self.client = client

    def on_ack(
        self,
        ack: Callable[..., None],
        body: dict[str, Any],
        action: dict[str, Any],
        respond: Callable[..., Any],
    ) -> None:
        """Record the tap and edit the tapped message's count; tell the person alone if it failed."""
        ack()
        user = str((body.get("user") or {}).get("id", ""))
        notice = str(decode_value(action.get("value")).get("n", ""))
        try:
            with self.sessions() as session:
                done = acknowledge(
                    session=session,
                    notice_id=int(notice) if notice.isdigit() else -1,
                    channel="slack",
                    user=user,
                    now=utcnow(),
                )
                session.commit()
        except ItbotError as exc:
            respond(text=exc.user_message, response_type="ephemeral", replace_original=False)
            return
        except SQLAlchemyError as exc:
            log_failure(log, "notice_ack_failed", exc, notice_id=notice or "-")
            respond(
                text="I couldn't note that just now. Please try again.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        log.info(
            "event=notice_acknowledged channel=slack notice_id=%s new=%s count=%d",
            notice,
            done.new,
            done.count,
        )
        message = body.get("message") or {}
        channel = str(
            (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        )
        ts = str(message.get("ts") or (body.get("container") or {}).get("message_ts", ""))
        if not (channel and ts and message.get("blocks")):
            return
        try:
            self.client.chat_update(
                channel=channel,
                ts=ts,
                text=str(message.get("text", "")),
                blocks=with_count(message["blocks"], done.count),
            )
        except (SlackApiError, SlackClientError, OSError) as exc:
            log_failure(log, "notice_ack_update_failed", exc, channel=channel, ts=ts)


def register_notice_acks(app: App, sessions: SessionFactory, client: WebClient) -> None:
    """Register the "Got it" listener on ``app``, and an acknowledgement for the "Downtime procedure"
    link button (Slack opens the link; the click still arrives and must be answered)."""
    app.action(ACTION_NOTICE_ACK)(NoticeAckHandler(sessions, client).on_ack)
    app.action(ACTION_NOTICE_PROCEDURE)(_ack_only)


def _ack_only(ack: Callable[..., None]) -> None:
    """Answer a click that needs nothing done."""
    ack()

"""The chat senders the outbox worker delivers through, one per configured channel."""

from __future__ import annotations

from bot.config import Settings
from bot.db import SessionFactory
from bot.notices.sender import NoticeSender
from bot.tickets.delivery import ChatSender


def chat_senders(settings: Settings) -> dict[str, ChatSender]:
    """A sender for every chat channel ``settings`` enable: the web chat always, Slack when
    ``SLACK_BOT_TOKEN`` is set, Teams when ``TEAMS_APP_ID`` is set."""
    from bot.channels.web.sender import WebChatSender

    senders: dict[str, ChatSender] = {"web": WebChatSender.from_settings(settings)}
    if settings.slack_bot_token:
        from bot.channels.slack.client import make_client
        from bot.channels.slack.sender import SlackChatSender

        senders["slack"] = SlackChatSender(make_client(settings), base_url=settings.public_url)
    if settings.teams_enabled:
        from bot.channels.teams.sender import TeamsChatSender

        senders["teams"] = TeamsChatSender.from_settings(settings)
    return senders


def notice_senders(settings: Settings, *, sessions: SessionFactory | None = None) -> dict[str, NoticeSender]:
    """A notice sender for every chat channel that can post into channels: Slack when
    ``SLACK_BOT_TOKEN`` is set, Teams when ``TEAMS_APP_ID`` is set and ``sessions`` (where the Teams
    sender records its posts) is given; routes of other channels are skipped with ``no_sender``."""
    senders: dict[str, NoticeSender] = {}
    if settings.slack_bot_token:
        from bot.channels.slack.notice_sender import SlackNoticeSender, make_notice_client

        senders["slack"] = SlackNoticeSender(make_notice_client(settings), base_url=settings.public_url)
    if settings.teams_enabled and sessions is not None:
        from bot.channels.teams.notice_sender import TeamsNoticeSender

        senders["teams"] = TeamsNoticeSender.from_settings(settings, sessions=sessions)
    return senders

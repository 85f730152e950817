"""``wants_person``: asking for a person skips the bot; mentioning one does not."""

from __future__ import annotations

import pytest

from bot.core.asking_for_person import wants_person, without_human_ask


@pytest.mark.parametrize(
    "text",
    [
        "talk to a human",
        "Talk to a human!!",
        "can I speak to someone please",
        "I want to speak with a real person",
        "real person please",
        "agent please",
        "live agent",
        "human please",
        "get me IT",
        "connect me to the service desk",
        "talk to IT",
        "representative",
        "open a ticket",
        "please put in a ticket for me",
        "I need a ticket",
        "escalate this",
        "can someone call me",
        "call me back at my desk",
        "need someone from IT",
        "I need someone from IT to come look at this",
        "can you send someone",
        "I want a tech to come up",
        "need an IT person asap",
        "somebody from the help desk please",
    ],
)
def test_asking_for_a_person_or_a_ticket_is_recognised(text: str) -> None:
    assert wants_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "epic is down",
        "the human resources portal won't load",
        "the citrix agent app crashed",
        "a person in room 4 can't log in",
        "get it working again",
        "the patient wants to be called",
        "what's my ticket number",
        "how do I talk to the patient over telehealth",
        "I need someone's password reset",
        "we need someone to cover the night shift schedule in kronos",
        "the tech support app won't open",
    ],
)
def test_mentioning_people_or_tickets_is_not_asking_for_one(text: str) -> None:
    assert not wants_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "quiero hablar con una persona",
        "¿puedo hablar con alguien de IT?",
        "necesito abrir un ticket",
        "persona real",
    ],
)
def test_asking_for_a_person_in_spanish_is_recognised(text: str) -> None:
    assert wants_person(text)


def test_without_the_ask_what_is_left_is_the_rest_of_the_message() -> None:
    assert " ".join(without_human_ask("talk to a human, vocera can't hear").split()) == ", vocera can't hear"
    assert without_human_ask("vocera can't hear") == "vocera can't hear"

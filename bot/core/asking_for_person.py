"""Recognising "I want a person": the words that skip the bot and hand the conversation to IT.

``wants_person`` is True when a message asks for a person or a ticket, in any case and with any
punctuation around it. The phrases:

* "talk to / speak to / speak with / chat with / get me / connect me to / transfer me to" followed by
  "a human", "a person", "a real person", "someone", "somebody", "an agent", "a technician",
  "a tech", "IT", "the help desk", "the service desk" (or "a live/real/actual ..." of those);
* "human please", "person please", "agent please", "real person", "actual person", "live person",
  "live agent", "human agent", "real human", "representative";
* "open / create / put in / submit / log / raise a ticket", "I need a ticket", "escalate this";
* "can someone call me", "call me back";
* "I need / want / can I get / please send" followed by "someone from IT", "an IT person", "a tech",
  "IT support", "help from IT", "a person" (with "someone from IT" also alone);
* in Spanish: "hablar con una persona / alguien / un técnico / soporte / IT / la mesa de ayuda",
  "persona real", "abrir / crear / levantar un ticket".

Words that only contain these ("human resources", "the agent app", "a person in room 4 can't log
in") do not count: a person must be asked for.
"""

from __future__ import annotations

import re

_ASK = (
    r"(?:(?:talk|speak|chat)\s+(?:to|with)|(?:get|connect|transfer|put|send)\s+me(?:\s+through)?(?:\s+to)?)"
)
_WHO = (
    r"(?:(?:a|an|the|some)\s+)?(?:(?:real|live|actual|human)\s+)?"
    r"(?:human(?!\s+resources)|person|someone|somebody|agent|technician|tech|it(?:\s+(?:person|guy|support))?"
    r"|help\s*desk|service\s*desk|support)\b"
)
_WANTS_HUMAN = re.compile(
    rf"\b{_ASK}\s+{_WHO}"
    r"|\b(?:human|person|agent|someone)\s+(?:please|pls|plz)\b"
    r"|\b(?:real|actual|live)\s+(?:person|human|agent|people)\b|\bhuman\s+agent\b|\brepresentative\b"
    r"|\b(?:open|create|put\s+in|submit|log|raise|file|make)\s+(?:a|an|me\s+a)\s+(?:ticket|incident)\b"
    r"|\bneed\s+a\s+ticket\b|\bescalate\s+(?:this|it|please|me)\b"
    r"|\b(?:can|could)\s+(?:someone|somebody|you|it)\s+call\s+me\b|\bcall\s+me\s+back\b"
    r"|\b(?:need|want|get|send|have)\s+(?:me\s+)?(?:someone|somebody|a\s+person|a\s+tech|a\s+technician)"
    r"(?:\s+(?:from|in)\s+it)?\s*(?:to\s+(?:come|help|look|call)\b|$|[.!?,]|\s+(?:please|pls|asap|now)\b)"
    r"|\b(?:someone|somebody|a\s+person|help)\s+from\s+(?:it|the\s+help\s*desk|the\s+service\s+desk)\b"
    r"|\b(?:need|want)\s+(?:an?\s+)?it\s+(?:person|support|tech|help)\b"
    r"|\bhablar\s+con\s+(?:una\s+persona|alguien|un\s+(?:t[eé]cnico|agente|humano)|(?:el\s+)?soporte|it\b"
    r"|(?:la\s+)?mesa\s+de\s+ayuda)|\bpersona\s+real\b"
    r"|\b(?:abrir|crear|levantar)(?:me)?\s+un\s+(?:ticket|incidente)\b",
    re.IGNORECASE,
)


def wants_person(text: str) -> bool:
    """True when ``text`` asks for a person from IT (or a ticket), by the phrases in this module's
    docstring; False for everything else, empty text included."""
    return bool(_WANTS_HUMAN.search(text))


def without_human_ask(text: str) -> str:
    """``text`` with every ask for a person removed ("talk to a human, citrix froze" -> ", citrix
    froze"): what is left is whatever else the message says."""
    return _WANTS_HUMAN.sub(" ", text)

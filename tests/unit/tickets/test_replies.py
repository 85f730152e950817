"""What the bot tells people about their tickets (``bot.tickets.replies``)."""

from __future__ import annotations

from dataclasses import fields

from bot.core.language import Language
from bot.tickets.replies import (
    PHI_NOTE,
    TEXTS,
    TicketTexts,
    agent_reply_text,
    already_open_text,
    ask_details_text,
    escalation_lead,
    joined_text,
    kept_text,
    opened_text,
    replayed_text,
    status_text,
    taken_text,
)


def test_the_follow_up_asks_only_for_what_is_missing_in_one_sentence() -> None:
    text = ask_details_text(["location", "urgency"], phi_note=False)

    assert "which unit or room" in text and "whether a patient is waiting" in text
    assert "device" not in text
    assert text.count("?") == 0 and text.count(".") == 2


def test_the_patient_details_note_is_added_only_when_asked_for() -> None:
    assert PHI_NOTE in ask_details_text(["urgency"], phi_note=True)
    assert PHI_NOTE not in ask_details_text(["urgency"], phi_note=False)
    assert PHI_NOTE in opened_text("IT-000001", priority_label="high", phone="x4357", phi_note=True)


def test_opening_says_the_number_the_priority_and_what_happens_next() -> None:
    text = opened_text("IT-000007", priority_label="high", phone="x4357", phi_note=False)

    assert "**IT-000007**" in text and "priority: high" in text and "x4357" in text and "this thread" in text


def test_joining_says_how_many_others_reported_it() -> None:
    assert "1 other person has reported this" in joined_text(
        "IT-1", affected=2, phone="x4357", phi_note=False
    )
    assert "4 other people have" in joined_text("IT-1", affected=5, phone="x4357", phi_note=False)


def test_the_kept_message_is_plain_promises_the_number_and_gives_the_phone_number() -> None:
    assert kept_text("x4357") == (
        "IT has your request. I couldn't open the ticket just now, so it waits safely until the system "
        "is back; the ticket number will follow here. If it's urgent, call the service desk at x4357."
    )


def test_a_resolution_carries_the_note_and_an_open_door() -> None:
    text = status_text("IT-000007", status="resolved", note="Print server restarted.")

    assert text.startswith("IT has resolved ticket **IT-000007**.")
    assert "Print server restarted." in text and "still not working" in text


def test_the_resolution_note_is_a_sentence_of_its_own_and_never_runs_into_the_next() -> None:
    text = status_text("IT-000007", status="resolved", note="restarted the print server")
    paragraphs = text.split("\n\n")

    assert paragraphs[0] == "IT has resolved ticket **IT-000007**."
    assert paragraphs[1].endswith("restarted the print server.")
    assert paragraphs[2].startswith("If it's still not working")


def test_a_resolution_without_a_note_has_no_empty_paragraph() -> None:
    text = status_text("IT-000007", status="resolved", note="  ")

    assert text == (
        "IT has resolved ticket **IT-000007**.\n\nIf it's still not working, say so here and I'll get IT "
        "back on it."
    )


def test_a_status_note_ends_with_its_own_full_stop() -> None:
    assert status_text("IT-1", status="waiting", note="which printer is it") == (
        "Ticket **IT-1**: IT is waiting for more information. which printer is it."
    )
    assert status_text("IT-1", status="waiting", note="Which printer?").endswith("Which printer?")


def test_already_open_names_the_ticket() -> None:
    assert "**IT-000003**" in already_open_text("IT-000003")


# --- one catalogue, each language complete -----------------------------------------------------------------


def test_every_language_has_every_ticket_text_and_every_ask() -> None:
    english = TEXTS[Language.EN]
    assert set(TEXTS) == set(Language)
    for texts in TEXTS.values():
        for field in fields(TicketTexts):
            value, model = getattr(texts, field.name), getattr(english, field.name)
            if isinstance(model, str):
                assert value.strip(), field.name
            else:
                assert set(value) == set(model), field.name


def test_a_person_who_never_said_the_problem_is_asked_for_it_first() -> None:
    text = ask_details_text(["problem", "location", "urgency"], phi_note=False)

    assert "tell me in one message what the problem is, which unit or room" in text


def test_the_follow_up_in_spanish_asks_in_spanish() -> None:
    text = ask_details_text(["problem", "location", "urgency"], phi_note=True, language=Language.ES)

    assert text.startswith("Se lo paso a IT. Para que le ayuden más rápido, dígame en un solo mensaje")
    assert "cuál es el problema, en qué unidad o habitación está y si hay un paciente esperando" in text
    assert TEXTS[Language.ES].phi_note in text and PHI_NOTE not in text


def test_the_ticket_messages_in_spanish_carry_the_number_and_the_phone() -> None:
    es = Language.ES
    assert "**IT-7**" in opened_text(
        "IT-7", priority_label="high", phone="x4357", phi_note=False, language=es
    )
    assert "Otra persona ha reportado" in joined_text(
        "IT-7", affected=2, phone="x4357", phi_note=False, language=es
    )
    assert "Otras 3 personas han" in joined_text(
        "IT-7", affected=4, phone="x4357", phi_note=False, language=es
    )
    assert "x4357" in kept_text("x4357", language=es) and "mesa de ayuda" in kept_text("x4357", language=es)
    assert "**IT-7**" in already_open_text("IT-7", language=es)
    assert replayed_text("IT-7", joined=False, language=es).startswith("Su solicitud llegó a IT")


def test_what_it_says_on_a_ticket_is_relayed_in_the_person_s_language() -> None:
    assert agent_reply_text("IT-7", agent="Dana", text="Try now.", language=Language.ES) == (
        "**Dana, de IT** sobre el ticket IT-7:\n\nTry now."
    )
    assert (
        taken_text("IT-7", agent="", language=Language.ES)
        == "Alguien de IT ya está trabajando en el ticket **IT-7**."
    )
    assert status_text("IT-7", status="resolved", note="servidor reiniciado", language=Language.ES) == (
        "IT resolvió el ticket **IT-7**.\n\nNota de IT: servidor reiniciado.\n\n"
        "Si todavía no funciona, dígalo aquí y haré que IT vuelva a revisarlo."
    )
    assert status_text("IT-7", status="waiting", note="", language=Language.ES) == (
        "Ticket **IT-7**: IT está esperando más información."
    )


def test_the_lead_before_a_hand_over_is_in_the_person_s_language() -> None:
    assert escalation_lead(not_fixed=True) == "Sorry that didn't fix it."
    assert (
        escalation_lead(not_fixed=False, language=Language.ES)
        == "No encontré un artículo que responda a esto."
    )

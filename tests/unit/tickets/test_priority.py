"""Clinical-impact priority (``bot.tickets.priority``): the rules in its docstring, one by one."""

from __future__ import annotations

import pytest

from bot.tickets.priority import assess_priority


def level(texts: list[str], system: str = "", **kwargs: object) -> int:
    return assess_priority(texts=texts, system=system, **kwargs).level  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "code blue in room 4 and the monitor is down",
        "STAT labs won't print",
        "can't give meds, scanner dead",
        "patient waiting in the ED and epic froze",
        "surgery delayed, PACS down",
    ],
)
def test_urgent_words_with_a_patient_facing_system_or_clinical_area_are_critical(text: str) -> None:
    assert level([text], system="Epic") == 1


def test_a_patient_said_to_be_waiting_is_urgent() -> None:
    priority = assess_priority(texts=["epic frozen"], system="Epic", patient_waiting=True)

    assert priority.level == 1
    assert "patient waiting" in priority.reasons


def test_urgent_words_alone_are_high() -> None:
    assert level(["it's an emergency, my email is gone"], system="Outlook") == 2


def test_the_emergency_department_is_a_place_not_an_emergency() -> None:
    assert level(["outlook won't open in the emergency department"], system="Outlook") == 3


def test_a_patient_facing_system_in_a_clinical_area_is_high() -> None:
    assert level(["pyxis drawer won't open on 5 North"], system="Pyxis MedStation") == 2


def test_a_patient_facing_system_or_a_clinical_area_alone_is_moderate() -> None:
    assert level(["epic is slow"], system="Epic") == 3
    assert level(["outlook won't sync"], system="Outlook", location="ICU") == 3


def test_a_system_that_is_not_patient_facing_outside_clinical_areas_is_low() -> None:
    assert level(["outlook calendar not syncing on my phone"], system="Outlook") == 4
    assert level(["my S drive disappeared"], system="Windows file server") == 4


def test_nothing_known_is_moderate_not_low() -> None:
    assert level(["it's broken"]) == 3


def test_the_system_is_read_from_the_words_when_none_is_given() -> None:
    assert level(["bcma scanner won't read wristbands on 3 East"]) == 2


def test_saying_it_can_wait_lowers_by_one() -> None:
    assert level(["epic is slow, no rush"], system="Epic") == 4
    assert level(["pyxis drawer stuck on 5 North, not urgent"], system="Pyxis MedStation") == 3


def test_saying_it_can_wait_does_not_lower_an_urgent_one() -> None:
    assert level(["patient waiting, whenever you can"], system="Epic") == 1


def test_three_people_reporting_it_raise_it_by_one() -> None:
    assert level(["epic is slow"], system="Epic", affected_count=2) == 3
    assert level(["epic is slow"], system="Epic", affected_count=3) == 2
    assert level(["code blue, epic down"], system="Epic", affected_count=10) == 1


def test_the_reasons_name_what_set_the_level() -> None:
    priority = assess_priority(texts=["stat order, 4 West"], system="Epic")

    assert priority.label == "critical"
    assert priority.reasons == ("urgent: stat", "patient-facing system: Epic", "clinical area: 4 West")


def test_nobody_saying_whether_a_patient_waits_counts_neither_way() -> None:
    unknown = assess_priority(
        texts=["vocera can't hear"], system="Vocera", location="ICU", patient_waiting=None
    )
    said_no = assess_priority(
        texts=["vocera can't hear"], system="Vocera", location="ICU", patient_waiting=False
    )
    said_yes = assess_priority(
        texts=["vocera can't hear"], system="Vocera", location="ICU", patient_waiting=True
    )

    assert unknown.level == said_no.level == 2 and said_yes.level == 1
    assert "patient waiting" not in unknown.reasons


def test_unknown_urgency_leaves_the_words_to_decide() -> None:
    assert level(["epic frozen, code blue in room 4"], system="Epic", patient_waiting=None) == 1
    assert level(["epic frozen, no rush"], system="Epic", patient_waiting=None) == 4

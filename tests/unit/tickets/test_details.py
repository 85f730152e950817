"""Reading where, which device and how urgent from what the person wrote (``bot.tickets.details``)."""

from __future__ import annotations

import pytest

from bot.tickets.details import (
    Details,
    category_of,
    details_from_texts,
    extract_details,
    find_device,
    find_location,
    find_patient_waiting,
    joined_locations,
    missing_details,
    problem_part,
)


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("printer on 4 West is jammed", "4 West"),
        ("5N pyxis offline", "5N"),
        ("we're in the ICU, bed 12", "ICU, bed 12"),
        ("ED triage computer", "ED"),
        ("3rd floor nurses station", "3rd floor"),
        ("rm 402 tv remote", "rm 402"),
        ("labor and delivery room 3", "labor and delivery, room 3"),
        ("PACU bay 7", "PACU, bay 7"),
    ],
)
def test_units_floors_rooms_and_departments_are_found_in_order(text: str, location: str) -> None:
    assert find_location(text) == location


@pytest.mark.parametrize("text", ["or maybe the printer", "error 1603 when installing", "epic is slow", ""])
def test_ordinary_words_are_not_locations(text: str) -> None:
    assert find_location(text) == ""


@pytest.mark.parametrize(
    ("text", "device"),
    [
        ("wow 23 won't connect", "wow 23"),
        ("COW #7 frozen", "COW #7"),
        ("label printer PRN-4B-LBL01 jammed", "PRN-4B-LBL01"),
        ("asset 48213 keeps rebooting", "asset 48213"),
        ("the scanner beeps but nothing", "scanner"),
        ("my laptop won't dock", "laptop"),
    ],
)
def test_a_device_id_wins_over_a_device_word(text: str, device: str) -> None:
    assert find_device(text) == device


def test_a_ticket_number_is_not_a_device_name() -> None:
    assert find_device("about IT-000123") == ""


@pytest.mark.parametrize(
    ("text", "answering", "waiting"),
    [
        ("patient is waiting for meds", False, True),
        ("pt waiting in room 4", False, True),
        ("STAT order won't print", False, True),
        ("code blue on 5N, monitor down", False, True),
        ("can't give meds, bcma down", False, True),
        ("no patients waiting, just annoying", False, False),
        ("not urgent", False, False),
        ("no rush", False, False),
        ("4 West, wow 23, yes", True, True),
        ("4 West, wow 23. no", True, False),
        ("4 West, wow 23, yes", False, None),
        ("no wifi on 4 West", True, None),
        ("epic is slow", False, None),
    ],
)
def test_urgency_is_said_in_words_or_as_a_yes_or_no_to_our_question(
    text: str, answering: bool, waiting: bool | None
) -> None:
    assert find_patient_waiting(text, answering=answering) is waiting


def test_a_reply_gives_all_three_at_once() -> None:
    found = extract_details("4W room 12, wow 23, yes", answering=True)

    assert found == Details(location="4W, room 12", device="wow 23", patient_waiting=True)


def test_later_messages_fill_in_and_override_earlier_ones() -> None:
    found = details_from_texts(["epic frozen on 4 West", "patient waiting", "actually it's 5 North"])

    assert found.location == "5 North"
    assert found.patient_waiting is True


def test_only_what_is_missing_is_asked_for() -> None:
    assert missing_details(Details(), category="printing") == ("location", "device", "urgency")
    assert missing_details(Details(location="ICU"), category="printing") == ("device", "urgency")
    assert (
        missing_details(Details(location="ICU", device="wow 2", patient_waiting=False), category="devices")
        == ()
    )


def test_the_device_is_not_asked_for_a_system_wide_problem() -> None:
    assert missing_details(Details(), category="ehr") == ("location", "urgency")
    assert missing_details(Details(), category="") == ("location", "device", "urgency")


def test_the_category_comes_from_the_best_article_then_the_systems_then_the_words() -> None:
    assert category_of(["anything"], ["printing/specimen-label-printer", "ehr/x"]) == "printing"
    assert category_of(["anything"], [], ["Pyxis MedStation"]) == "clinical-apps"
    assert category_of(["citrix black screen"], []) == "citrix"
    assert category_of(["hello"], []) == ""


def test_a_wing_inside_a_device_name_is_not_a_location() -> None:
    assert find_location("PRN-4W-LBL02 jammed") == ""


def test_a_device_word_says_what_kind_so_which_one_is_still_asked() -> None:
    found = Details(location="4 West", device="label printer", patient_waiting=True)

    assert missing_details(found, category="printing") == ("device",)
    assert (
        missing_details(
            Details(location="4 West", device="PRN-4W-LBL02", patient_waiting=True), category="printing"
        )
        == ()
    )


# --- each place once, Spanish places, and what the answer says besides them ------------------------------


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("ICU bed 7, ICU", "ICU, bed 7"),
        ("icu bed 7 and the ICU printer", "icu, bed 7"),
        ("4 West room 12, 4 west", "4 West, room 12"),
    ],
)
def test_a_place_named_twice_is_listed_once_whatever_its_case(text: str, location: str) -> None:
    assert find_location(text) == location


def test_a_place_contained_in_another_is_listed_once_as_the_longer() -> None:
    assert joined_locations(["ICU", "bed 7", "ICU bed 7"]) == "ICU bed 7"
    assert joined_locations(["ICU bed 7", "bed 7", "icu"]) == "ICU bed 7"
    assert joined_locations(["", "4 West, room 12", "Room 12"]) == "4 West, room 12"


def test_spanish_units_and_beds_are_places() -> None:
    assert find_location("UCI cama 7") == "UCI, cama 7"
    assert find_location("habitación 12 en urgencias") == "habitación 12, urgencias"


@pytest.mark.parametrize(
    ("text", "waiting"),
    [
        ("sí", True),
        ("hay un paciente esperando", True),
        ("no hay paciente esperando", False),
        ("no es urgente", False),
    ],
)
def test_urgency_in_spanish(text: str, waiting: bool) -> None:
    assert find_patient_waiting(text, answering=True) is waiting


def test_nobody_saying_whether_a_patient_waits_is_unknown_not_no() -> None:
    assert extract_details("ICU bed 7", answering=True).patient_waiting is None
    assert details_from_texts(["epic frozen", "ICU bed 7"]).patient_waiting is None


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("ICU bed 7, vocera can't hear anything, no patient waiting", "vocera can't hear anything"),
        (
            "4 West room 12. The label printer prints blank labels. yes",
            "The label printer prints blank labels",
        ),
        ("UCI cama 7, la vocera no suena, sí", "la vocera no suena"),
        ("ICU bed 7, no", ""),
        ("I'm in the ICU, bed 7, yes patient waiting", ""),
        ("wow 23, 5 North", ""),
    ],
)
def test_the_problem_part_of_an_answer_is_what_it_says_besides_where_and_how_urgent(
    answer: str, problem: str
) -> None:
    assert problem_part(answer) == problem

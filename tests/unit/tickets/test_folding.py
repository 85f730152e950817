"""Duplicate folding (``bot.tickets.folding``): same system or article, within the window, alike enough
for who reports what: one person's own problem stays apart, an outage gathers its reporters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.tickets.folding import (
    OUTAGE_REPORTERS,
    OUTAGE_THRESHOLD,
    PAIR_THRESHOLD,
    PERSONAL_THRESHOLD,
    WINDOW,
    OpenIncident,
    Report,
    canonical_system,
    choose_incident,
    content_words,
    is_personal,
    read,
    similarity,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def report(text: str, *, system: str = "Epic", article: str = "", minutes: float = 10) -> Report:
    return Report(text=text, system=system, article=article, at=T0 + timedelta(minutes=minutes))


def incident(
    *texts: str, key: str = "t1", system: str = "Epic", article: str = "", minutes: float = 0
) -> OpenIncident:
    return OpenIncident(
        key=key, system=system, article=article, texts=texts, last_reported_at=T0 + timedelta(minutes=minutes)
    )


def folds(new: Report, *incidents: OpenIncident) -> bool:
    return choose_incident(new, incidents) is not None


def test_the_window_is_an_hour_and_the_bar_is_lower_for_an_outage_than_for_a_pair_or_a_person() -> None:
    assert timedelta(minutes=60) == WINDOW
    assert 0 < OUTAGE_THRESHOLD < PAIR_THRESHOLD < PERSONAL_THRESHOLD < 1
    assert OUTAGE_REPORTERS >= 2


# The outage: many people, one system, a short window, in their own words.


def test_a_second_report_of_the_same_outage_folds_in() -> None:
    found = choose_incident(report("epic freezing on 5N"), [incident("epic super slow on 4 west")])

    assert found is not None and found.key == "t1"


def test_a_ticket_two_people_reported_takes_a_report_a_one_person_ticket_would_not() -> None:
    new = report("epic freezing on med reconciliation, flowsheets, vitals and note templates")
    first = "epic hanging while printing discharge instructions and signing orders"
    second = "epic lagging for scheduling, arrivals and appointment desk check-in"
    assert OUTAGE_THRESHOLD <= similarity(new.text, first) < PAIR_THRESHOLD
    assert OUTAGE_THRESHOLD <= similarity(new.text, second) < PAIR_THRESHOLD

    assert not folds(new, incident(first))
    assert folds(new, incident(first, second))


def test_an_outage_told_in_other_symptoms_folds_into_one_ticket() -> None:
    outage = incident(
        "citrix won't connect, says cannot contact server", "is citrix down?", system="Citrix Workspace"
    )

    for words in (
        "black screen in citrix for everyone",
        "citrix kicked all of us out",
        "nobody can get into citrix",
    ):
        assert folds(report(words, system="Citrix Workspace"), outage), words


def test_symptoms_alone_fold_a_report_that_says_many_are_affected_or_shares_the_article() -> None:
    outage = incident(
        "citrix won't connect", "citrix down?", system="Citrix Workspace", article="cannot-connect"
    )
    alone = "storefront page spinning after I click the icon"

    assert not folds(report(alone, system="Citrix Workspace", article="black-screen"), outage)
    assert folds(report(alone, system="Citrix Workspace", article="cannot-connect"), outage)
    assert folds(report(alone, system="Citrix Workspace"), outage)  # the bot found no article
    assert folds(report(f"{alone}, whole unit", system="Citrix Workspace", article="black-screen"), outage)


def test_symptoms_alone_do_not_fold_reports_about_two_systems_that_share_an_article() -> None:
    article = "ehr/epic-slow-or-freezing"

    assert not folds(
        report("outlook won't sync", system="Outlook", article=article),
        incident("epic froze", article=article),
    )


# The near-miss: one person's own problem with the same system.


@pytest.mark.parametrize(
    ("text", "system"),
    [
        ("my scanner won't charge in the cradle", "BCMA"),
        ("scanned the wristband and it says no matching patient", "BCMA"),
        ("got a replacement badge, how do I enroll it for tap in", "Imprivata OneSign"),
        ("my badge isn't recognized at the reader", "Imprivata OneSign"),
    ],
)
def test_a_personal_report_does_not_join_an_outage_of_its_system(text: str, system: str) -> None:
    outages = {
        "BCMA": incident(
            "bcma down, scanners not reading wristbands", "barcode scanning down", system="BCMA"
        ),
        "Imprivata OneSign": incident(
            "badge tap not working on any computer", "badge readers down", system="Imprivata OneSign"
        ),
    }

    assert not folds(report(text, system=system), outages[system])


def test_what_people_do_with_a_system_does_not_make_two_reports_about_it_alike() -> None:
    first, second = "scanner won't scan wristbands", "scanned the wristband, no matching patient"

    assert similarity(first, second) > 0
    assert similarity(first, second, system="BCMA") == 0.0


def test_requests_of_one_person_never_fold() -> None:
    expired = incident("my epic password expired, where do I change it")

    assert not folds(report("epic password expired message at login"), expired)
    assert not folds(
        report("how do I set up epic on my new phone"), incident("how do I set up epic on my phone")
    )


def test_a_report_that_says_others_are_fine_joins_nothing() -> None:
    outage = incident("wifi down on 2 east", "laptops dropping off the network", system="Staff Wi-Fi")

    assert not folds(
        report("my laptop won't connect to wifi but everyone else's works", system="Staff Wi-Fi"), outage
    )


def test_one_device_failing_for_several_people_folds_but_two_devices_or_places_do_not() -> None:
    reader = incident("pyxis on 3 east won't take my fingerprint", system="Pyxis MedStation")
    battery = incident("wow 7 battery won't charge", system="Workstation on wheels")

    assert folds(
        report("3E pyxis fingerprint reader not reading my fingerprint", system="Pyxis MedStation"), reader
    )
    assert not folds(
        report("5N pyxis fingerprint reader not reading my fingerprint", system="Pyxis MedStation"), reader
    )
    assert folds(report("wow 7 battery not charging", system="Workstation on wheels"), battery)
    assert not folds(report("wow 15 battery won't charge", system="Workstation on wheels"), battery)


@pytest.mark.parametrize(
    "text",
    [
        "my badge isn't recognized at the reader",
        "how do I enroll my new badge",
        "new hire has no epic access on her first day",
        "wow battery won't charge",
        "my computer won't turn on",
        "my laptop won't connect but everyone else's does",
    ],
)
def test_personal_reports_are_about_one_persons_account_device_or_set_up(text: str) -> None:
    assert is_personal(text)


@pytest.mark.parametrize(
    "text",
    [
        "badge readers down on 6W, nobody can tap in",
        "nobody can enroll badges at the kiosk",
        "my computer is so slow",
        "is it just me or is epic slow",
        "same here, my vocera won't connect",
        "epic kicked everyone out",
    ],
)
def test_reports_that_say_many_are_affected_or_name_an_outage_symptom_are_not_personal(text: str) -> None:
    assert not is_personal(text)


# The rest of the rule: related, recent, and how words are compared.


def test_the_same_system_with_a_different_problem_stays_apart() -> None:
    slow = incident("epic slow", "epic frozen", article="ehr/epic-slow-or-freezing")

    assert not folds(report("epic password reset link broken"), slow)
    assert not folds(
        report("fax to the outside clinic not sending", article="printing/epic-fax-not-sending"), slow
    )


def test_the_same_words_hours_later_are_a_new_problem() -> None:
    later = report("epic slow again, freezing", minutes=60 * 5)

    assert choose_incident(later, [incident("epic slow and freezing")]) is None


def test_the_window_counts_from_the_incidents_last_report() -> None:
    assert choose_incident(report("epic slow", minutes=59), [incident("epic slow", minutes=0)]) is not None
    assert choose_incident(report("epic slow", minutes=61), [incident("epic slow", minutes=0)]) is None


def test_another_system_with_the_same_words_stays_apart() -> None:
    found = choose_incident(
        report("slow and freezing", system="Citrix Workspace"), [incident("slow and freezing")]
    )

    assert found is None


def test_the_same_best_article_relates_reports_without_a_system() -> None:
    article = "printing/specimen-label-printer"
    new = report("labels won't print", system="", article=article)

    assert (
        choose_incident(new, [incident("label printer not printing", system="", article=article)]) is not None
    )


def test_a_system_missing_from_the_report_is_read_from_its_words() -> None:
    new = report("is citrix down? black screen", system="")

    assert choose_incident(new, [incident("citrix black screen", system="Citrix Workspace")]) is not None


def test_aliases_name_one_system() -> None:
    assert canonical_system("Omnicell") == canonical_system("Pyxis MedStation") == "Pyxis MedStation"
    assert canonical_system("", "the bcma scanner") == "BCMA"


def test_any_of_the_incidents_reports_can_match() -> None:
    found = choose_incident(
        report("pyxis drawer locked, offline"),
        [incident("pyxis comm failure", "med station offline, drawer locked")],
    )

    assert found is not None


def test_the_most_similar_open_incident_wins() -> None:
    slow = incident("epic slow and freezing", key="slow")
    printing = incident("epic printing to the wrong printer", key="printing")

    found = choose_incident(report("epic printing to wrong printer again"), [slow, printing])

    assert found is not None and found.key == "printing"


def test_places_and_system_names_do_not_make_reports_alike() -> None:
    assert content_words("wifi down on the WOWs in the ED bay 7") == {"wifi", "down", "outage"}
    assert content_words("wow battery in ED bay 3") == content_words("battery on the wow in bay 12")


def test_staff_ways_of_saying_slow_are_one_word() -> None:
    assert similarity("epic laggy", "epic hanging") == similarity("epic slow", "epic freezing") == 1.0


def test_different_symptoms_share_the_outage_word() -> None:
    assert content_words("black screen") == {"down", "outage"}
    assert content_words("won't connect") == {"fail", "outage"}
    assert content_words("kicked us out") == {"drop", "outage"}
    assert 0 < similarity("citrix black screen", "citrix won't connect") < 1


def test_a_symptom_spelled_with_a_negation_is_one_word() -> None:
    assert content_words("not loading") == content_words("can't connect") == content_words("doesn't work")


def test_the_reading_keeps_places_and_device_numbers_apart_from_the_words() -> None:
    reading = read("wow 7 on 4 West won't charge")

    assert reading.devices == {("wow", "7")}
    assert reading.places == {"4w"}
    assert "7" not in reading.words and "4w" not in reading.words


def test_empty_reports_are_not_alike() -> None:
    assert similarity("", "epic slow") == 0.0

"""Duplicate folding (``bot.tickets.folding``): same system or article, within the window, alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.tickets.folding import (
    THRESHOLD,
    WINDOW,
    OpenIncident,
    Report,
    canonical_system,
    choose_incident,
    content_words,
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


def test_the_window_is_an_hour_and_the_threshold_was_tuned_on_dev() -> None:
    assert timedelta(minutes=60) == WINDOW
    assert 0 < THRESHOLD < 1


def test_a_second_report_of_the_same_outage_folds_in() -> None:
    found = choose_incident(report("epic freezing on 5N"), [incident("epic super slow on 4 west")])

    assert found is not None and found.key == "t1"


def test_the_same_system_with_a_different_problem_stays_apart() -> None:
    assert (
        choose_incident(report("epic password reset link broken"), [incident("epic slow everywhere")]) is None
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
    assert content_words("wifi down on the WOWs in the ED bay 7") == {"wifi", "down"}
    assert similarity("wow battery won't charge in ED bay 3", "wow wifi down in ED bay 3") == 0.0


def test_staff_ways_of_saying_slow_are_one_word() -> None:
    assert similarity("epic laggy", "epic hanging") == similarity("epic slow", "epic freezing") == 1.0


def test_empty_reports_are_not_alike() -> None:
    assert similarity("", "epic slow") == 0.0

"""Reading monitoring's alerts: the generic shape and Alertmanager's webhook, and what is refused."""

from __future__ import annotations

import pytest

from bot.notices.alerts import MAX_KEY, AlertPayloadError, parse_alert
from bot.notices.models import Impact


def test_a_generic_alert_is_keyed_by_source_and_fingerprint() -> None:
    alert = parse_alert({"system": "Epic", "summary": "slow", "source": "Zabbix", "fingerprint": "f1"})

    assert alert.key == "zabbix:f1" and alert.firing and alert.systems == ("Epic",)
    assert alert.impact is Impact.DEGRADED


def test_without_a_fingerprint_the_same_source_and_systems_are_the_same_alert() -> None:
    one = parse_alert({"systems": ["Epic", "Citrix"], "summary": "slow"})
    two = parse_alert({"systems": ["citrix", "epic"], "summary": "slower", "status": "resolved"})

    assert one.key == two.key and one.firing and not two.firing


def test_a_critical_alert_means_down() -> None:
    assert parse_alert({"system": "Epic", "summary": "x", "severity": "Critical"}).impact is Impact.DOWN


def test_an_alertmanager_group_is_one_alert_over_its_systems() -> None:
    payload = {
        "version": "4",
        "groupKey": '{}:{alertname="X"}',
        "status": "resolved",
        "commonLabels": {},
        "commonAnnotations": {"summary": "Network trouble"},
        "alerts": [
            {"labels": {"system": "Epic", "severity": "warning"}, "annotations": {}},
            {"labels": {"service": "Citrix", "severity": "critical"}, "annotations": {}},
        ],
    }

    alert = parse_alert(payload)

    assert alert.key == 'alertmanager:{}:{alertname="X"}' and not alert.firing
    assert alert.systems == ("Epic", "Citrix") and alert.summary == "Network trouble"
    assert alert.impact is Impact.DOWN


def test_a_very_long_group_key_still_fits_and_stays_the_same() -> None:
    payload = {"groupKey": "k" * 1000, "alerts": [{"labels": {"system": "Epic", "alertname": "A"}}]}

    assert len(parse_alert(payload).key) <= MAX_KEY
    assert parse_alert(payload).key == parse_alert(dict(payload)).key


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ("text", "JSON object"),
        ({}, "lacks system, summary"),
        ({"system": ["", 3], "summary": "x"}, "lacks system"),
        ({"system": "Epic", "summary": "x", "status": "ok"}, '"firing" or "resolved"'),
        ({"groupKey": "g", "alerts": ["x"]}, "alerts[0] is not an object"),
    ],
)
def test_what_a_draft_needs_is_named_when_it_is_missing(payload: object, says: str) -> None:
    with pytest.raises(AlertPayloadError) as refused:
        parse_alert(payload)

    assert says in refused.value.user_message

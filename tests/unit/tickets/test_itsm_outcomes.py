"""What an answer or a transport error means: delivered, retry (when), or the dead letter at once."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from bot.tickets.itsm.outcomes import error_for_exception, error_for_status, parse_retry_after


@pytest.mark.parametrize("status", [200, 201, 204])
def test_2xx_is_delivered(status: int) -> None:
    assert error_for_status(status) is None


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_and_unavailable_are_retried_after_the_receivers_retry_after(status: int) -> None:
    error = error_for_status(status, "30")

    assert error is not None
    assert (error.code, error.permanent, error.unavailable, error.retry_after) == (
        f"http_{status}",
        False,
        True,
        30.0,
    )


@pytest.mark.parametrize("status", [500, 502, 504, 408, 409])
def test_server_errors_and_timeouts_are_retried(status: int) -> None:
    error = error_for_status(status)

    assert error is not None
    assert not error.permanent
    assert error.retry_after is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 301])
def test_other_statuses_are_dead_letters_at_once_named_by_status(status: int) -> None:
    error = error_for_status(status)

    assert error is not None
    assert error.permanent
    assert error.code == f"http_{status}"


def test_retry_after_may_be_seconds_or_an_http_date() -> None:
    now = datetime(2026, 11, 23, 3, 0, 0, tzinfo=UTC)

    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Mon, 23 Nov 2026 03:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Mon, 23 Nov 2026 02:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("reset"),
    ],
)
def test_no_answer_is_retried_and_named_by_the_error_type_only(exc: httpx.HTTPError) -> None:
    error = error_for_exception(exc)

    assert error.code == type(exc).__name__
    assert not error.permanent
    assert error.unavailable

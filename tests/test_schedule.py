"""Schedule parsing and slot naming: pure functions, as tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.errors import CatalogError
from worker.fetch import backoff
from worker.schedule import last_slot, parse_map


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("slash=0 3 * * *", {"slash": "0 3 * * *"}),
        ("a=0 3 * * *; b=*/15 * * * 1-5 ;", {"a": "0 3 * * *", "b": "*/15 * * * 1-5"}),
        ("a=/data/a;b=/data/b", {"a": "/data/a", "b": "/data/b"}),
    ],
)
def test_parse_map(text: str, expected: dict[str, str]) -> None:
    assert parse_map(text, "X") == expected


@pytest.mark.parametrize("bad", ["noequals", "=0 3 * * *", "a="])
def test_parse_map_rejects(bad: str) -> None:
    with pytest.raises(CatalogError, match="NAME=VALUE"):
        parse_map(bad, "X")


def t(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "now", "slot"),
    [
        ("* * * * *", "2026-11-22T03:17:42", "2026-11-22T03:17:00"),
        ("0 3 * * *", "2026-11-22T03:00:05", "2026-11-22T03:00:00"),
        ("0 3 * * *", "2026-11-22T02:59:59", "2026-11-21T03:00:00"),
        ("0 3 * * *", "2026-11-22T14:30:00", "2026-11-22T03:00:00"),
        ("*/15 * * * *", "2026-11-22T10:44:59", "2026-11-22T10:30:00"),
        # 2026-11-22 is a Sunday (celery day 0); Monday 4am slot is 6 days back
        ("0 4 * * 1", "2026-11-22T12:00:00", "2026-11-16T04:00:00"),
        ("0 4 * * 0", "2026-11-22T12:00:00", "2026-11-22T04:00:00"),
        ("30 2 1 * *", "2026-11-22T00:00:00", "2026-11-01T02:30:00"),
    ],
)
def test_last_slot(expr: str, now: str, slot: str) -> None:
    assert last_slot(expr, t(now)) == t(slot)


def test_two_beats_a_second_apart_name_the_same_slot() -> None:
    a = last_slot("0 3 * * *", t("2026-11-22T03:00:00.2"))
    b = last_slot("0 3 * * *", t("2026-11-22T03:40:01"))  # second one ran after a long train
    assert a == b


@pytest.mark.parametrize("bad", ["0 3 * *", "99 3 * * *", "a b c d e"])
def test_bad_crontab(bad: str) -> None:
    with pytest.raises(CatalogError, match="crontab"):
        last_slot(bad, t("2026-11-22T03:00:00"))


@pytest.mark.parametrize(("attempt", "delay"), [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.6), (9, 2.0)])
def test_backoff(attempt: int, delay: float) -> None:
    assert backoff(attempt) == pytest.approx(delay)

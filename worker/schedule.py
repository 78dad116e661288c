"""Retraining schedule: parsing the settings and naming schedule slots.

Pure functions (tested with tables): `parse_map` reads "name=value;..." settings,
`last_slot` gives the most recent minute a crontab fired at, which names the
slot that the Redis lock makes unique.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from models.errors import CatalogError


def parse_map(text: str, what: str) -> dict[str, str]:
    """ "a=0 3 * * *;b=0 4 * * 0" -> {"a": "0 3 * * *", "b": "0 4 * * 0"}."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise CatalogError(f"bad {what} entry {part!r}: expected NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def crontab_from(expr: str) -> Any:
    from celery.schedules import crontab

    fields = expr.split()
    if len(fields) != 5:
        raise CatalogError(f"bad crontab {expr!r}: need 5 fields (min hour dom month dow)")
    minute, hour, dom, month, dow = fields
    try:
        return crontab(
            minute=minute, hour=hour, day_of_month=dom, month_of_year=month, day_of_week=dow
        )
    except (ValueError, TypeError) as e:
        raise CatalogError(f"bad crontab {expr!r}: {e}") from None


def last_slot(expr: str, now: datetime, horizon_days: int = 366) -> datetime:
    """The latest minute <= `now` at which the crontab fires."""
    cron = crontab_from(expr)
    t = now.replace(second=0, microsecond=0)
    end = t - timedelta(days=horizon_days)
    while t > end:
        if (
            t.minute in cron.minute
            and t.hour in cron.hour
            and t.day in cron.day_of_month
            and t.month in cron.month_of_year
            and t.isoweekday() % 7 in cron.day_of_week  # celery: 0 = Sunday
        ):
            return t
        t -= timedelta(minutes=1)
    raise CatalogError(f"crontab {expr!r} did not fire in the last {horizon_days} days")

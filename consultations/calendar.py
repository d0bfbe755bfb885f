"""« Jours ouvrés »: Monday to Friday, except the public holidays of the buyer's place.

Alsace-Moselle has two more holidays (Good Friday and 26 December), overseas
departments have their own (abolition of slavery…): the organisation's department
code chooses the calendar.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

PARIS = ZoneInfo("Europe/Paris")

# Department code → subdivision of holidays.France.
_SUBDIVISIONS = {
    "57": "57",
    "67": "6AE",
    "68": "6AE",
    "971": "971",
    "972": "972",
    "973": "973",
    "974": "974",
    "975": "PM",
    "976": "976",
    "977": "BL",
    "978": "MF",
    "986": "WF",
    "987": "PF",
    "988": "NC",
}


@lru_cache(maxsize=32)
def _holidays(department_code: str) -> holidays.HolidayBase:
    return holidays.France(subdiv=_SUBDIVISIONS.get(department_code or ""))


def is_business_day(day: date, department_code: str = "") -> bool:
    return day.weekday() < 5 and day not in _holidays(department_code)


def business_days_before(moment: datetime, days: int, department_code: str = "") -> datetime:
    """The same time of day, ``days`` business days before ``moment`` (in Paris time).

    Six « jours ouvrés » before a deadline of Friday 12:00 is the Thursday of the
    week before at 12:00 when nothing is a holiday.
    """
    local = moment.astimezone(PARIS)
    day = local.date()
    remaining = days
    while remaining > 0:
        day -= timedelta(days=1)
        if is_business_day(day, department_code):
            remaining -= 1
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=PARIS)


def paris_moment(day: date, at: time) -> datetime | None:
    """The Paris moment of a date and a time of day, to the second (fractions dropped).

    ``None`` for an hour that does not exist that day (the change to summer time skips it).
    """
    naive = datetime.combine(day, at.replace(microsecond=0, tzinfo=None))
    moment = naive.replace(tzinfo=PARIS)
    if moment.astimezone(UTC).astimezone(PARIS).replace(tzinfo=None) != naive:
        return None
    return moment


FIRST_YEAR, LAST_YEAR = 2000, 2100


def validate_plausible_date(value: date) -> None:
    """Dates of procurement lie in this century: far ones are typing mistakes (and would
    overflow the date arithmetic)."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(
            _("Saisissez une date entre %(first)s et %(last)s."),
            code="implausible_date",
            params={"first": FIRST_YEAR, "last": LAST_YEAR},
        )

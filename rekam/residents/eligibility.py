"""Who must hold a KTP-el, and who is a first-time voter, on a given reference date.

UU 24/2013 art. 63: a citizen aged 17 or older, or married or previously married, must hold a
KTP-el. A first-time voter (pemilih pemula) reaches voting age by polling day and could not
vote in the previous five-yearly election; eligibility is always computed against a date.
"""

from __future__ import annotations

from datetime import date

from .models import MaritalStatus

KTP_AGE = 17
ELECTION_CYCLE_YEARS = 5


def age_on(birth_date: date, on: date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def ever_married(marital_status: str) -> bool:
    return marital_status != MaritalStatus.SINGLE


def must_hold_ktp(*, birth_date: date, marital_status: str, on: date) -> bool:
    return age_on(birth_date, on) >= KTP_AGE or ever_married(marital_status)


def ktp_duty_day(birth_date: date) -> date:
    """The day someone who never married turns 17 and must hold a KTP-el (born on 29 February:
    1 March of a common year, as :func:`age_on` counts)."""
    try:
        return birth_date.replace(year=birth_date.year + KTP_AGE)
    except ValueError:
        return date(birth_date.year + KTP_AGE, 3, 1)


def is_first_time_voter(*, birth_date: date, marital_status: str, polling_day: date) -> bool:
    """Of voting age on polling day, but not yet at the previous election five years before."""
    if not must_hold_ktp(birth_date=birth_date, marital_status=marital_status, on=polling_day):
        return False
    return age_on(birth_date, polling_day) < KTP_AGE + ELECTION_CYCLE_YEARS


def birth_date_limit(on: date) -> date:
    """Residents born on or before this date are 17 or older on ``on`` (for queries)."""
    try:
        return on.replace(year=on.year - KTP_AGE)
    except ValueError:  # 29 February
        return on.replace(year=on.year - KTP_AGE, day=28)

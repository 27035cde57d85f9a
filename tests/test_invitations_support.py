"""Builders shared by the invitation tests (this module holds no tests itself)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from rekam.antrean import clock
from rekam.elections.models import Election
from rekam.invitations import tokens
from rekam.invitations.models import PlanRun
from rekam.invitations.services import plan_run_create, plan_run_execute
from rekam.servicepoints.models import HolidayOpening, ServicePoint
from rekam.voters.models import DptImport, ReconciliationRun, Voter, VoterCheck

from .test_antrean_support import at, make_point
from .test_voters_support import make_election

KEDATON = "18.71.01.1003"
SURABAYA = "18.71.01.1004"
# The village of Bandar Lampung farthest from the test point (Srengsem, Panjang: 15.9 km).
SRENGSEM = "18.71.04.1002"


def add_voters(
    election: Election,
    village: str,
    klass: str,
    n: int,
    *,
    first_time: int = 0,
    start: int = 0,
    rts: tuple[str, ...] = ("001", "002", "003"),
    **check: Any,
) -> list[Voter]:
    """``n`` voters of ``village`` whose latest verdict is ``klass`` (the first ``first_time``
    of them first-time voters)."""
    dpt = DptImport.objects.filter(election=election).first() or DptImport.objects.create(
        election=election, file_name="dpt.csv", sha256="0" * 64
    )
    run = ReconciliationRun.objects.filter(election=election).first() or (
        ReconciliationRun.objects.create(election=election)
    )
    made = []
    for k in range(n):
        serial = start + k
        voter = Voter.objects.create(
            election=election,
            added_in=dpt,
            key=f"{village}-{serial}",
            nik=f"18710{serial:011d}",
            name=f"Warga {serial}",
            name_key=f"WARGA {serial:04d}",
            birth_date=date(1990, 1, 1),
            sex="L",
            rt=rts[serial % len(rts)],
            rw="001",
            tps="001",
            regency_id="18.71",
            district_id=village[:8],
            village_id=village,
        )
        VoterCheck.objects.create(
            voter=voter, election=election, run=run, klass=klass, first_time=k < first_time, **check
        )
        made.append(voter)
    return made


def add_point(office: Any, *, hours: tuple[time, time] = (time(8, 0), time(16, 0))) -> ServicePoint:
    """One counter, hourly sessions of 6 seats of which 3 are kept for invitations, open every
    day (holidays and polling day too)."""
    return make_point(
        office,
        counters=1,
        hours=hours,
        invitation_percent=50,
        holiday_opening=HolidayOpening.OPEN,
        lat=-5.38,
        lon=105.26,
    )


def new_election() -> Election:
    return make_election()


# The morning the scenarios' plans are made: before the first day any of them plans from.
PLANNING_MORNING = at(date(2020, 12, 6), 7, 0)


def planning_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime = PLANNING_MORNING) -> None:
    """Set the clock plans read (the queue's) to ``moment``: the scenarios are of 2020."""
    monkeypatch.setattr("rekam.antrean.clock.now", lambda: moment)


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """The clock at ``moment`` for a while, then as it was (a test's own clock included)."""
    before = clock.now
    clock.now = lambda: moment
    try:
        yield
    finally:
        clock.now = before


def plan_now(
    election: Election, user: Any, start: date, *, dry_run: bool = False, **options: Any
) -> PlanRun:
    """Plan for Bandar Lampung at 07:00 the day before ``start``: a preview when ``dry_run``,
    else planned, approved and sent."""
    with clock_at(at(start - timedelta(days=1), 7, 0)):
        run = plan_run_create(
            election=election,
            region_code="18.71",
            acting_user=user,
            dry_run=dry_run,
            start=start,
            **options,
        )
        return plan_run_execute(run=run, acting_user=user)


def token_of(text: str, purpose: str, invitation: Any) -> bool:
    """Whether ``text`` is a token of ``purpose`` for ``invitation``. Read back, not compared:
    a token's text carries the second it was made."""
    read = tokens.read(text, purpose, now=invitation.starts_at)
    return bool(read.reference == invitation.reference)

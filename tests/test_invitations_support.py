"""Builders shared by the invitation tests (this module holds no tests itself)."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from rekam.elections.models import Election
from rekam.invitations.models import PlanRun
from rekam.invitations.services import plan_run_create, plan_run_execute
from rekam.servicepoints.models import HolidayOpening, ServicePoint
from rekam.voters.models import DptImport, ReconciliationRun, Voter, VoterCheck

from .test_antrean_support import make_point
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


def plan_now(
    election: Election, user: Any, start: date, *, dry_run: bool = False, **options: Any
) -> PlanRun:
    """Plan for Bandar Lampung: a preview when ``dry_run``, else planned, approved and sent."""
    run = plan_run_create(
        election=election,
        region_code="18.71",
        acting_user=user,
        dry_run=dry_run,
        start=start,
        **options,
    )
    return plan_run_execute(run=run, acting_user=user)

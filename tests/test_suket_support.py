"""Builders shared by the Suket tests (this module holds no tests itself)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from rekam.accounts.models import Office
from rekam.elections.models import Election
from rekam.regions.models import Region
from rekam.suket.stock import blank_receive

JAKARTA = ZoneInfo("Asia/Jakarta")


def jakarta(y: int, m: int, d: int, hh: int = 10) -> datetime:
    return datetime(y, m, d, hh, 0, tzinfo=JAKARTA)


def make_pilkada(
    regencies: tuple[str, ...] = ("18.71", "18.01"), slug: str = "pilkada-2020"
) -> Election:
    election = Election.objects.create(
        name="Pemilihan Wali Kota dan Wakil Wali Kota Tahun 2020",
        slug=slug,
        polling_day=date(2020, 12, 9),
        suket_issue_until=date(2020, 12, 9),
        suket_valid_until=date(2020, 12, 31),
    )
    election.regions.add(*Region.objects.filter(code__in=regencies))
    return election


def ready_office(office: Office, blanks: int = 10) -> Office:
    """An office with a head who signs, and ``blanks`` blank cards."""
    office.head_name = "Drs. Zainal Abidin, M.Si."
    office.head_nip = "196805121990031007"
    office.address = "Jl. Dr. Susilo No. 2, Sumur Batu, Teluk Betung Utara"
    office.save()
    if blanks:
        blank_receive(office=office, count=blanks, batch="B-2020-11", received_on=date(2020, 11, 1))
    return office

"""Elections the project ships with: Pilkada 2020 in Lampung, and a rehearsal for the demo.

The regions that held the Pilkada and the KPU's voter figures come from
``data/elections/pilkada_2020_lampung.csv`` (``settings.ELECTION_DATA_DIR``). Loading is
idempotent: an election is found by its slug and brought up to date, never duplicated.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from rekam.accounts.access import Action, require
from rekam.audit.services import audit_record, diff_fields

from .models import Election, ElectionRegion

PILKADA_2020_SLUG = "pilkada-2020-lampung"
PILKADA_2020_FILE = "pilkada_2020_lampung.csv"
REHEARSAL_SLUG = "simulasi"
# The rehearsal's polling day lies this many days after the day the demo is built, and its
# Suket stays valid as long after polling day as the 2020 one did (9 to 31 December).
REHEARSAL_DAYS_AHEAD = 14
REHEARSAL_VALIDITY_DAYS = 22


@dataclass(frozen=True)
class RegionFigures:
    """One regency/city in an election file, with the KPU's voter figures where published."""

    regency_code: str
    name: str
    holds_election: bool
    dp4: int | None
    dpt: int | None
    dpt_unrecorded: int | None

    @property
    def unrecorded_share(self) -> float | None:
        if not self.dpt or self.dpt_unrecorded is None:
            return None
        return self.dpt_unrecorded / self.dpt


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def read_election_regions(path: Path | None = None) -> list[RegionFigures]:
    """Every regency/city of the file, electing or not (non-electing ones have no figures)."""
    path = path or Path(settings.ELECTION_DATA_DIR) / PILKADA_2020_FILE
    with path.open(newline="", encoding="utf-8") as f:
        return [
            RegionFigures(
                regency_code=row["regency_code"],
                name=row["name"],
                holds_election=row["holds_election"].strip() == "1",
                dp4=_int(row.get("dp4")),
                dpt=_int(row.get("dpt")),
                dpt_unrecorded=_int(row.get("dpt_unrecorded")),
            )
            for row in csv.DictReader(f)
        ]


def electing_regions(path: Path | None = None) -> list[RegionFigures]:
    return [r for r in read_election_regions(path) if r.holds_election]


@transaction.atomic
def election_ensure(
    *,
    slug: str,
    name: str,
    polling_day: date,
    suket_issue_until: date,
    suket_valid_until: date,
    regions: Sequence[RegionFigures],
    acting_user: Any = None,
) -> Election:
    """Create the election ``slug`` or bring it up to date, with its regions and figures."""
    if acting_user is not None:
        require(acting_user, Action.MANAGE_ELECTIONS)
    values = {
        "name": name,
        "polling_day": polling_day,
        "suket_issue_until": suket_issue_until,
        "suket_valid_until": suket_valid_until,
    }
    election = Election.objects.filter(slug=slug).first()
    if election is None:
        election = Election(slug=slug, **values)
        election.full_clean()
        election.save()
        changes = diff_fields({}, values)
        action = "election.create"
    else:
        changes = diff_fields({f: getattr(election, f) for f in values}, values)
        for field, value in values.items():
            setattr(election, field, value)
        election.full_clean()
        if changes:
            election.save()
        action = "election.update"

    wanted = {r.regency_code: r for r in regions}
    existing = {row.region_id: row for row in ElectionRegion.objects.filter(election=election)}
    before_codes = sorted(existing)
    for code, row in existing.items():
        if code not in wanted:
            row.delete()
    for code, figures in wanted.items():
        numbers = {
            "dp4": figures.dp4,
            "dpt": figures.dpt,
            "dpt_unrecorded": figures.dpt_unrecorded,
        }
        current = existing.get(code)
        if current is None:
            ElectionRegion.objects.create(election=election, region_id=code, **numbers)
        elif any(getattr(current, f) != v for f, v in numbers.items()):
            ElectionRegion.objects.filter(pk=current.pk).update(**numbers)
    if before_codes != sorted(wanted):
        changes["regions"] = [before_codes, sorted(wanted)]
    if changes:
        audit_record(acting_user=acting_user, action=action, obj=election, changes=changes)
    return election


def election_load_pilkada_2020_lampung(*, acting_user: Any = None) -> Election:
    """Pilkada 9 December 2020 in Lampung's 8 electing regions (Suket until 9, valid to 31 Dec)."""
    return election_ensure(
        slug=PILKADA_2020_SLUG,
        name="Pemilihan Serentak 2020 Provinsi Lampung",
        polling_day=date(2020, 12, 9),
        suket_issue_until=date(2020, 12, 9),
        suket_valid_until=date(2020, 12, 31),
        regions=electing_regions(),
        acting_user=acting_user,
    )


def election_load_rehearsal(*, today: date, acting_user: Any = None) -> Election:
    """A rehearsal in the same regions whose polling day is two weeks after ``today``."""
    polling_day = today + timedelta(days=REHEARSAL_DAYS_AHEAD)
    return election_ensure(
        slug=REHEARSAL_SLUG,
        name="Simulasi Pemilihan (Latihan) Provinsi Lampung",
        polling_day=polling_day,
        suket_issue_until=polling_day,
        suket_valid_until=polling_day + timedelta(days=REHEARSAL_VALIDITY_DAYS),
        regions=electing_regions(),
        acting_user=acting_user,
    )

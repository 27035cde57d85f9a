"""The demo's voter list: built from the population, imported, reconciled, idempotent."""

from __future__ import annotations

from datetime import date

from rekam.residents.models import MaritalStatus
from rekam.voters.demo import voters_demo_build
from rekam.voters.models import Voter, VoterCheck
from tests.test_voters_support import KEDATON, make_election, nik_for, resident


def test_the_demo_lists_residents_of_voting_age_and_reconciles_them(lampung, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    election = make_election()
    adult = resident(
        nik_for(KEDATON, date(1980, 1, 1), "L", 1), birth_date=date(1980, 1, 1), sex="L"
    )
    married_16 = resident(
        nik_for(KEDATON, date(2004, 6, 1), "P", 2),
        name="Rina",
        birth_date=date(2004, 6, 1),
        marital_status=MaritalStatus.MARRIED,
    )
    resident(nik_for(KEDATON, date(2010, 1, 1), "P", 3), name="Nisa", birth_date=date(2010, 1, 1))
    built = voters_demo_build(election=election, seed=7)
    assert built.imported is not None and built.imported.rejected == 0
    names = set(Voter.objects.values_list("name", flat=True))
    assert {adult.name, married_16.name} <= names and "Nisa" not in names
    assert built.run is not None and VoterCheck.objects.count() == Voter.objects.count()
    assert set(Voter.objects.values_list("tps", flat=True)) == {"001"}
    again = voters_demo_build(election=election, seed=7)
    assert again.reused and Voter.objects.count() == built.rows

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied

from rekam.audit.models import AuditEntry
from rekam.elections.loader import (
    PILKADA_2020_SLUG,
    REHEARSAL_SLUG,
    electing_regions,
    election_ensure,
    election_load_pilkada_2020_lampung,
    election_load_rehearsal,
    read_election_regions,
)
from rekam.elections.models import Election, ElectionRegion

ELECTING_2020 = {"18.01", "18.02", "18.07", "18.08", "18.09", "18.13", "18.71", "18.72"}


def test_the_file_lists_every_regency_and_the_eight_that_held_the_pilkada():
    rows = read_election_regions()
    assert len(rows) == 15
    assert {r.regency_code for r in rows if r.holds_election} == ELECTING_2020


def test_pilkada_2020_has_its_polling_day_and_suket_window(lampung):
    election = election_load_pilkada_2020_lampung()
    assert election.slug == PILKADA_2020_SLUG
    assert election.polling_day == date(2020, 12, 9)
    assert election.suket_issue_until == date(2020, 12, 9)
    assert election.suket_valid_until == date(2020, 12, 31)


def test_pilkada_2020_is_held_in_the_eight_electing_regions(lampung):
    election = election_load_pilkada_2020_lampung()
    assert set(election.regions.values_list("code", flat=True)) == ELECTING_2020
    assert election.covers("18.71")
    assert not election.covers("18.03")


def test_each_electing_region_keeps_the_kpu_voter_figures(lampung):
    election = election_load_pilkada_2020_lampung()
    row = ElectionRegion.objects.get(election=election, region_id="18.02")
    assert (row.dp4, row.dpt, row.dpt_unrecorded) == (1094516, 922468, 63973)
    assert row.unrecorded_share == pytest.approx(63973 / 922468)


def test_the_rehearsal_polls_fourteen_days_after_the_given_day(lampung):
    election = election_load_rehearsal(today=date(2026, 3, 2))
    assert election.slug == REHEARSAL_SLUG
    assert election.polling_day == date(2026, 3, 16)
    assert election.suket_issue_until == date(2026, 3, 16)
    assert election.suket_valid_until == date(2026, 4, 7)
    assert set(election.regions.values_list("code", flat=True)) == ELECTING_2020


def test_loading_twice_updates_and_never_duplicates(lampung):
    election_load_pilkada_2020_lampung()
    election_load_pilkada_2020_lampung()
    election_load_rehearsal(today=date(2026, 3, 2))
    rehearsal = election_load_rehearsal(today=date(2026, 5, 1))
    assert Election.objects.count() == 2
    assert ElectionRegion.objects.count() == 16
    assert rehearsal.polling_day == date(2026, 5, 15)


def test_a_reload_without_changes_writes_no_audit_entry(lampung):
    election_load_pilkada_2020_lampung()
    before = AuditEntry.objects.count()
    election_load_pilkada_2020_lampung()
    assert AuditEntry.objects.count() == before


def test_a_region_dropped_from_the_list_no_longer_holds_the_election(lampung):
    election_load_pilkada_2020_lampung()
    regions = [r for r in electing_regions() if r.regency_code != "18.72"]
    election = election_ensure(
        slug=PILKADA_2020_SLUG,
        name="Pemilihan Serentak 2020 Provinsi Lampung",
        polling_day=date(2020, 12, 9),
        suket_issue_until=date(2020, 12, 9),
        suket_valid_until=date(2020, 12, 31),
        regions=regions,
    )
    assert not election.covers("18.72")
    assert election.regions.count() == 7


def test_it_refuses_an_election_set_up_by_a_regency_admin(personas):
    with pytest.raises(PermissionDenied):
        election_ensure(
            slug="pilkada-lain",
            name="Pemilihan lain",
            polling_day=date(2024, 11, 27),
            suket_issue_until=date(2024, 11, 27),
            suket_valid_until=date(2024, 12, 31),
            regions=electing_regions(),
            acting_user=personas.bdl_admin,
        )
    assert not Election.objects.filter(slug="pilkada-lain").exists()


def test_a_province_admin_sets_up_an_election(personas):
    election = election_ensure(
        slug="pilkada-2024-lampung",
        name="Pemilihan Serentak 2024 Provinsi Lampung",
        polling_day=date(2024, 11, 27),
        suket_issue_until=date(2024, 11, 27),
        suket_valid_until=date(2024, 12, 31),
        regions=electing_regions(),
        acting_user=personas.province_admin,
    )
    entry = AuditEntry.objects.get(action="election.create", object_id=str(election.pk))
    assert entry.actor == personas.province_admin

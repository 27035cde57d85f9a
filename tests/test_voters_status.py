"""Whether each regency/city's voter list changed after its last reconciliation, as the election
and worklist pages say it: per regency/city, never election-wide."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rekam.voters.importer import dpt_import
from rekam.voters.models import DptImport, ReconciliationRun
from rekam.voters.reconcile import reconcile
from rekam.voters.worklists import election_status
from tests.conftest import PASSWORD
from tests.test_voters_support import (
    HAJIMENA,
    KEDATON,
    make_election,
    nik_for,
    voter_row,
    write_dpt,
)

BDL = "18.71"
LAMSEL = "18.01"
ANDI = nik_for(KEDATON, date(1980, 1, 1), "L", 1)
JOKO = nik_for(HAJIMENA, date(1970, 2, 2), "L", 3)


def province_rows() -> list[list[str]]:
    """A voter of Bandar Lampung and one of Lampung Selatan."""
    return [
        voter_row(ANDI, name="Andi", birth="01-01-1980"),
        voter_row(JOKO, name="Joko", birth="02-02-1970", village=HAJIMENA),
    ]


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def import_rows(election, tmp_path, name: str, rows: list[list[str]]) -> DptImport:
    result = dpt_import(path=write_dpt(tmp_path / name, rows), election=election)
    return result.batch


def stale_on_page(client, election, **params: str) -> tuple[list[str], object]:
    """The regencies/cities the page lists as needing a run, and its last reconciliation."""
    if params:
        response = client.get(reverse("voters_worklist", args=[election.slug]), params)
        run = response.context["reconciled"]
    else:
        response = client.get(reverse("voters_election", args=[election.slug]))
        run = response.context["status"].last_run
    assert response.status_code == 200
    text = response.content.decode()
    listed = [code for code in (BDL, LAMSEL) if f'data-regency="{code}"' in text]
    assert ('data-testid="stale"' in text) == bool(listed)
    return listed, run


@pytest.fixture
def election(lampung, tmp_path):
    return make_election()


def test_a_province_file_then_one_regencys_run_leaves_the_other_regency_stale(
    client, election, personas, tmp_path
):
    """The province imports the whole list; Bandar Lampung reconciles only its own part."""
    import_rows(election, tmp_path, "provinsi.csv", province_rows())
    bdl_run = reconcile(election=election, regencies=[BDL])
    login(client, personas.province_admin)
    stale, run = stale_on_page(client, election)
    assert stale == [LAMSEL] and run == bdl_run
    status = client.get(reverse("voters_election", args=[election.slug])).context["status"]
    [never] = status.stale
    assert never.imported_at is not None and never.reconciled_at is None
    client.logout()
    login(client, personas.bdl_admin)
    assert stale_on_page(client, election) == ([], bdl_run)
    client.logout()
    login(client, personas.lamsel_operator)
    assert stale_on_page(client, election) == ([LAMSEL], None)


def test_one_regencys_import_does_not_make_another_regency_stale(
    client, election, personas, tmp_path
):
    import_rows(election, tmp_path, "provinsi.csv", province_rows())
    lamsel_run = reconcile(election=election, regencies=[LAMSEL])
    bdl_run = reconcile(election=election, regencies=[BDL])
    # A later file of Bandar Lampung only.
    moved = voter_row(ANDI, name="Andi", birth="01-01-1980", tps="003")
    import_rows(election, tmp_path, "bdl.csv", [moved])
    login(client, personas.lamsel_operator)
    # Lampung Selatan's own list has not changed; its last run is its own, not the latest.
    assert stale_on_page(client, election) == ([], lamsel_run)
    assert stale_on_page(client, election, kode="18.01.04") == ([], lamsel_run)
    client.logout()
    login(client, personas.bdl_operator)
    assert stale_on_page(client, election) == ([BDL], bdl_run)
    assert stale_on_page(client, election, kode=KEDATON) == ([BDL], bdl_run)
    client.logout()
    login(client, personas.province_admin)
    assert stale_on_page(client, election) == ([BDL], bdl_run)
    # Reconciled again: nothing left to run.
    again = reconcile(election=election, regencies=[BDL])
    assert stale_on_page(client, election) == ([], again)


def test_an_import_finishing_while_a_run_reads_leaves_the_list_stale(election, tmp_path):
    """The run finished after the import, but started before it: it may have read the list
    the import replaced."""
    batch = import_rows(election, tmp_path, "provinsi.csv", province_rows())
    run = reconcile(election=election)
    assert not election_status(election, "").stale
    assert batch.finished_at is not None and run.finished_at is not None
    ReconciliationRun.objects.filter(pk=run.pk).update(
        started_at=batch.finished_at - timedelta(seconds=1)
    )
    status = election_status(election, "")
    assert [r.code for r in status.stale] == [LAMSEL, BDL]
    assert status.last_run == run


def test_the_status_costs_the_same_queries_for_few_and_many_runs(election, personas, tmp_path):
    import_rows(election, tmp_path, "provinsi.csv", province_rows())
    reconcile(election=election, regencies=[BDL])
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            status = election_status(election, personas.province_admin)
        assert [r.code for r in status.regencies] == [LAMSEL, BDL]
        counts.append(len(queries))
        for _ in range(3):
            reconcile(election=election, regencies=[LAMSEL])
            reconcile(election=election, regencies=[BDL])
    assert counts[0] == counts[1] <= 4

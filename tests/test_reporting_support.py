"""Builders shared by the dashboard tests (this module holds no tests itself)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rekam.elections.models import Election
from rekam.residents.models import Resident
from rekam.residents.states import KtpState
from rekam.voters.importer import dpt_import
from rekam.voters.reconcile import reconcile

from .test_voters_support import HAJIMENA, KEDATON, make_election, nik_for, resident, voter_row
from .test_voters_support import write_dpt as write_dpt_file


def kedaton(serial: int) -> str:
    return nik_for(KEDATON, date(1980, 1, 1), "L", serial)


def hajimena(serial: int) -> str:
    return nik_for(HAJIMENA, date(1980, 1, 1), "L", serial)


def build_province(folder: Path) -> tuple[Election, dict[int, Resident]]:
    """Bandar Lampung: six voters (two unrecorded, one at the data centre, one PRR, one printed,
    one not in the registry, 6); Lampung Selatan: two (one unrecorded, 7, one printed, 8); the
    list imported and reconciled. Returns the election and the residents by serial."""
    election = make_election()
    states = {
        1: KtpState.BELUM_REKAM,
        2: KtpState.BELUM_REKAM,
        3: KtpState.SENT_FOR_ENROLLMENT,
        4: KtpState.PRINT_READY_RECORD,
        5: KtpState.CARD_PRINTED,
    }
    people = {
        s: resident(kedaton(s), birth_date=date(1980, 1, 1), sex="L", ktp_state=state)
        for s, state in states.items()
    }
    for serial, state in ((7, KtpState.BELUM_REKAM), (8, KtpState.CARD_PRINTED)):
        people[serial] = resident(
            hajimena(serial), village=HAJIMENA, birth_date=date(1980, 1, 1), sex="L",
            ktp_state=state,
        )  # fmt: skip
    rows = [voter_row(kedaton(s), birth="01-01-1980", sex="L") for s in (1, 2, 3, 4, 5)]
    rows.append(voter_row(kedaton(6), name="Budi Santoso", birth="01-01-1980", sex="L"))
    rows += [voter_row(hajimena(s), birth="01-01-1980", sex="L", village=HAJIMENA) for s in (7, 8)]
    dpt_import(path=write_dpt_file(folder / "dpt.csv", rows), election=election)
    reconcile(election=election)
    return election, people

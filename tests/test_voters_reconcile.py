"""Reconciling the DPT with the registry: classes, flags, candidate matches, refusals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.utils import timezone

from rekam.accounts.models import Office
from rekam.audit.models import AuditEntry
from rekam.residents.eligibility import is_first_time_voter
from rekam.residents.models import MaritalStatus
from rekam.residents.states import KtpState
from rekam.suket.models import Suket
from rekam.voters.importer import dpt_import
from rekam.voters.models import CandidateMatch, ReconciliationRun, Voter, VoterCheck, VoterClass
from rekam.voters.reconcile import ReconcileRefused, reconcile, reconciliation_start
from rekam.voters.services import CandidateError, candidate_confirm, candidate_reject
from rekam.voters.worklists import worklist_total
from tests.test_voters_support import (
    KEDATON,
    POLLING_DAY,
    make_election,
    nik_for,
    resident,
    voter_row,
    write_dpt,
)


@pytest.fixture
def election(lampung):
    return make_election()


def person(serial: int, birth: date = date(1980, 1, 1), sex: str = "L") -> str:
    return nik_for(KEDATON, birth, sex, serial)


def import_rows(tmp_path, election, rows):
    return dpt_import(path=write_dpt(tmp_path / "dpt.csv", rows), election=election)


def row_for(nik: str, birth: date = date(1980, 1, 1), sex: str = "L", **kw: str) -> list[str]:
    return voter_row(nik, birth=birth.strftime("%d-%m-%Y"), sex=sex, **kw)


def verdict(nik: str) -> VoterCheck:
    return VoterCheck.objects.get(voter__nik=nik)


def test_it_classifies_each_voter(tmp_path, election):
    states = {
        1: KtpState.CARD_PRINTED,
        2: KtpState.PRINT_READY_RECORD,
        3: KtpState.SENT_FOR_ENROLLMENT,
        4: KtpState.BELUM_REKAM,
    }
    for serial, state in states.items():
        resident(person(serial), birth_date=date(1980, 1, 1), sex="L", ktp_state=state)
    unknown = person(5)
    masked = person(6)[:6] + "****" + person(6)[10:]
    import_rows(
        tmp_path,
        election,
        [row_for(person(s)) for s in states]
        + [row_for(unknown), row_for(masked, name="Tanpa NIK")],
    )
    run = reconcile(election=election)
    assert run.status == ReconciliationRun.Status.DONE
    got = {v.voter.nik: (v.klass, v.ktp_state) for v in VoterCheck.objects.select_related("voter")}
    assert got == {
        person(1): (VoterClass.CARD_PRINTED, KtpState.CARD_PRINTED),
        person(2): (VoterClass.PRR_NOT_PRINTED, KtpState.PRINT_READY_RECORD),
        person(3): (VoterClass.RECORDED_NOT_PRR, KtpState.SENT_FOR_ENROLLMENT),
        person(4): (VoterClass.NOT_RECORDED, KtpState.BELUM_REKAM),
        unknown: (VoterClass.NOT_IN_REGISTRY, ""),
        masked: (VoterClass.NIK_INVALID, ""),
    }
    assert run.totals[VoterClass.NOT_RECORDED] == 1 and run.voters == 6


def test_it_flags_first_time_voters_by_polling_day(tmp_path, election):
    turns_17 = POLLING_DAY.replace(year=POLLING_DAY.year - 17)
    day_after = turns_17 + timedelta(days=1)
    young_married = date(2004, 6, 1)
    voters = {
        person(11, turns_17): (turns_17, "B"),
        person(12, day_after): (day_after, "B"),
        person(13, young_married): (young_married, "S"),
        person(14, date(1998, 12, 10)): (date(1998, 12, 10), "B"),
        person(15, date(1998, 12, 9)): (date(1998, 12, 9), "B"),
    }
    import_rows(
        tmp_path,
        election,
        [row_for(nik, birth, marital=marital) for nik, (birth, marital) in voters.items()],
    )
    reconcile(election=election)
    single, married = MaritalStatus.SINGLE, MaritalStatus.MARRIED
    for nik, (birth, marital) in voters.items():
        expected = is_first_time_voter(
            birth_date=birth,
            marital_status=married if marital == "S" else single,
            polling_day=POLLING_DAY,
        )
        assert verdict(nik).first_time is expected, (nik, birth)
    assert [verdict(n).first_time for n in voters] == [True, False, True, True, False]


def test_it_flags_a_suket_that_expires_before_polling_day(tmp_path, election, personas):
    holder = resident(person(21), ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    other = make_election(slug="lama")
    Suket.objects.bulk_create([_suket(holder, other, personas.bdl_office, date(2020, 11, 30))])
    import_rows(tmp_path, election, [row_for(person(21))])
    reconcile(election=election)
    assert verdict(person(21)).suket_until == date(2020, 11, 30)
    assert worklist_total(election, "").suket_expiring == 1


def _suket(holder, election, office: Office, until: date) -> Suket:
    from rekam.suket.models import OfficeKey, SuketDecision

    now = timezone.now()
    key = OfficeKey.objects.create(
        office=office, kid="k1", public_key=b"0" * 32, private_key_sealed=b"x", created_at=now
    )
    decision = SuketDecision.objects.create(
        resident=holder,
        election=election,
        office=office,
        moment=now,
        outcome="SUKET",
        message="",
        inputs={},
    )
    return Suket(
        uid="a" * 16,
        office=office,
        year=2020,
        seq=1,
        number="S-1",
        resident=holder,
        election=election,
        decision=decision,
        reason="BELUM_PRR",
        holder={},
        issued_at=now,
        valid_from=date(2020, 11, 1),
        valid_until=until,
        signer_name="x",
        signer_nip="1",
        key=key,
        qr_text="",
        pdf=b"",
        pdf_sha256="",
    )


def test_a_second_run_writes_only_what_changed(tmp_path, election):
    r = resident(person(31), ktp_state=KtpState.PRINT_READY_RECORD)
    resident(person(32), ktp_state=KtpState.BELUM_REKAM)
    import_rows(tmp_path, election, [row_for(person(31)), row_for(person(32))])
    first = reconcile(election=election)
    r.ktp_state = KtpState.CARD_PRINTED
    r.save()
    second = reconcile(election=election)
    assert (first.changed, second.changed) == (2, 1)
    assert verdict(person(31)).klass == VoterClass.CARD_PRINTED
    assert worklist_total(election, "").counts == {
        VoterClass.CARD_PRINTED: 1,
        VoterClass.NOT_RECORDED: 1,
    }


def test_it_proposes_a_candidate_and_a_person_confirms_it(tmp_path, election, personas):
    real = resident(
        person(41, date(1975, 7, 7)),
        name="Ahmad  Fauzi",
        birth_date=date(1975, 7, 7),
        ktp_state=KtpState.PRINT_READY_RECORD,
    )
    typo = real.nik[:15] + str((int(real.nik[15]) + 1) % 10)
    import_rows(tmp_path, election, [row_for(typo, date(1975, 7, 7), name="AHMAD FAUZI")])
    run = reconcile(election=election)
    assert run.candidates == 1
    candidate = CandidateMatch.objects.get()
    assert (candidate.resident, candidate.status) == (real, CandidateMatch.Status.PROPOSED)
    # Never merged on its own: the voter stays NOT_IN_REGISTRY until someone confirms.
    assert verdict(typo).klass == VoterClass.NOT_IN_REGISTRY

    candidate_confirm(candidate=candidate, acting_user=personas.bdl_admin, reason="cek KK")
    candidate.refresh_from_db()
    assert candidate.status == CandidateMatch.Status.CONFIRMED
    assert candidate.decided_by == personas.bdl_admin and candidate.decided_at is not None
    assert verdict(typo).klass == VoterClass.PRR_NOT_PRINTED and verdict(typo).via_match
    assert worklist_total(election, "").counts == {VoterClass.PRR_NOT_PRINTED: 1}
    entry = AuditEntry.objects.get(action="voter.match_confirm")
    assert entry.actor == personas.bdl_admin and entry.reason == "cek KK"
    # The next run keeps following the confirmed resident and proposes nothing new.
    again = reconcile(election=election)
    assert again.candidates == 0 and verdict(typo).klass == VoterClass.PRR_NOT_PRINTED


def test_a_rejected_candidate_is_not_proposed_again(tmp_path, election, personas):
    resident(person(51, date(1975, 7, 7)), name="Dewi", birth_date=date(1975, 7, 7), sex="L")
    import_rows(
        tmp_path, election, [row_for(person(52, date(1975, 7, 7)), date(1975, 7, 7), name="Dewi")]
    )
    reconcile(election=election)
    candidate_reject(candidate=CandidateMatch.objects.get(), acting_user=personas.bdl_admin)
    assert reconcile(election=election).candidates == 0
    with pytest.raises(CandidateError):
        candidate_confirm(candidate=CandidateMatch.objects.get(), acting_user=personas.bdl_admin)


def test_it_refuses_a_confirmation_from_another_regency(tmp_path, election, personas):
    resident(person(61, date(1975, 7, 7)), name="Dewi", birth_date=date(1975, 7, 7), sex="L")
    import_rows(
        tmp_path, election, [row_for(person(62, date(1975, 7, 7)), date(1975, 7, 7), name="Dewi")]
    )
    reconcile(election=election)
    candidate = CandidateMatch.objects.get()
    with pytest.raises(PermissionDenied):
        candidate_confirm(candidate=candidate, acting_user=personas.lamsel_operator)
    candidate.refresh_from_db()
    assert candidate.status == CandidateMatch.Status.PROPOSED


def test_a_regency_admin_reconciles_only_their_regency(tmp_path, election, personas):
    run = reconciliation_start(election=election, acting_user=personas.bdl_admin)
    assert run.regencies == ["18.71"]
    with pytest.raises(PermissionDenied):
        reconciliation_start(election=election, acting_user=personas.bdl_admin, regencies=["18.01"])


def test_it_refuses_a_second_run_while_one_is_running(election):
    reconciliation_start(election=election)
    with pytest.raises(ReconcileRefused):
        reconciliation_start(election=election)


def test_it_refuses_an_operator(election, personas):
    with pytest.raises(PermissionDenied):
        reconciliation_start(election=election, acting_user=personas.lamsel_operator)


def test_the_command_prints_the_classes(tmp_path, election, capsys):
    import_rows(tmp_path, election, [row_for(person(71))])
    call_command("reconcile", "--election", election.slug, verbosity=0)
    out = capsys.readouterr().out
    assert "NOT_IN_REGISTRY: 1" in out
    assert Voter.objects.get().verdict.klass == VoterClass.NOT_IN_REGISTRY

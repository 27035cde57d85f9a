"""The public reschedule page and calendar file: reached by a signed link, no login."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from rekam.antrean.models import Session
from rekam.antrean.services import invitation_resolver_set
from rekam.invitations import tokens
from rekam.invitations.invites import (
    calendar_token,
    free_sessions,
    reschedule_token,
    resolve_checkin,
)
from rekam.invitations.models import Invitation
from rekam.invitations.services import deadline_of
from rekam.lib.nik import mask_nik
from rekam.notifications.models import Message
from rekam.servicepoints.models import HolidayOpening
from rekam.voters.models import VoterCheck, VoterClass

from .factories import make_resident
from .test_antrean_support import at, make_point
from .test_invitations_support import (
    KEDATON,
    add_point,
    add_voters,
    new_election,
    plan_now,
    token_of,
)

DAY_BEFORE = date(2020, 12, 8)


@pytest.fixture
def now(monkeypatch):
    invitation_resolver_set(resolve_checkin)
    moment = {"at": at(DAY_BEFORE, 7, 0)}
    monkeypatch.setattr("rekam.antrean.clock.now", lambda: moment["at"])
    return moment


@pytest.fixture
def invitation(personas, now) -> Invitation:
    election = new_election()
    add_point(personas.bdl_office)
    add_voters(election, KEDATON, VoterClass.NOT_RECORDED, 2)
    plan_now(election, personas.bdl_admin, DAY_BEFORE)
    return Invitation.objects.select_related("election", "voter").order_by("id")[0]


def _url(inv: Invitation) -> str:
    return f"/undangan/jadwal/{reschedule_token(inv)}/"


def _offered(body: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'name="session" value="(\d+)"', body)}


def test_the_page_shows_the_invitation_with_a_masked_nik(client, invitation) -> None:
    response = client.get(_url(invitation))
    body = response.content.decode()
    assert response.status_code == 200
    assert invitation.voter.nik not in body
    assert mask_nik(invitation.voter.nik) in body
    assert "Kantor Disdukcapil 18.71-DINAS" in body and "Jl. Dr. Susilo No. 2" in body
    assert "Fotokopi Kartu Keluarga (KK)" in body
    assert "Selasa, 8 Desember 2020" in body and "08.00–09.00 WIB" in body
    assert 'src="data:image/png;base64,' in body  # the check-in QR
    # The link's token is made when the page is: read it back rather than compare the text
    # (its signature carries the second it was made).
    (link,) = re.findall(r"/undangan/kalender/([^\"]+)\.ics", body)
    assert token_of(link, tokens.CALENDAR, invitation)


def test_it_offers_only_free_sessions_before_the_polls_close(client, invitation) -> None:
    closed = deadline_of(invitation.election)
    full = free_sessions(invitation)[0]
    Session.objects.filter(pk=full.pk).update(invitation_taken=F("invitation_capacity"))
    offered = _offered(client.get(_url(invitation)).content.decode())
    sessions = Session.objects.filter(service_point=invitation.service_point)
    late = set(sessions.filter(ends_at__gt=closed).values_list("pk", flat=True))
    assert late, "the point is open after the polls close: sessions the page must not offer"
    assert offered
    assert not offered & late
    assert full.pk not in offered and invitation.session_id not in offered
    assert all(s.ends_at <= closed for s in sessions.filter(pk__in=offered))


def test_each_day_offers_the_nearest_places_first_and_few_of_them(
    client, invitation, personas
) -> None:
    home = invitation.village
    for n, step in enumerate((0.3, 0.1, 0.2, 0.4), start=1):
        make_point(
            personas.bdl_office,
            code=f"18.71-KEC-{n}",
            invitation_percent=50,
            holiday_opening=HolidayOpening.OPEN,
            lat=home.lat + step,
            lon=home.lon,
        )
    body = client.get(_url(invitation)).content.decode()
    first_day = body.split('<details class="sessions-day"')[1].split("</details>")[0]
    names = re.findall(r"<legend>([^<]+?)\s*<small", first_day)
    # Its own point (at the village) first, then the two nearest of the four: three a day.
    assert [n.strip() for n in names] == [
        invitation.service_point.name,
        "Kantor Disdukcapil 18.71-KEC-2",
        "Kantor Disdukcapil 18.71-KEC-3",
    ]


def test_every_day_offers_other_places_too(client, invitation, personas) -> None:
    home = invitation.village
    make_point(
        personas.bdl_office,
        code="18.71-KEC-9",
        invitation_percent=50,
        holiday_opening=HolidayOpening.OPEN,
        lat=home.lat + 0.1,
        lon=home.lon,
    )
    body = client.get(_url(invitation)).content.decode()
    days = body.split('<details class="sessions-day"')[1:]
    assert len(days) >= 2
    assert all("Kantor Disdukcapil 18.71-KEC-9" in day for day in days)


def test_the_page_reads_a_bounded_number_of_queries(
    client, invitation, django_assert_max_num_queries
) -> None:
    url = _url(invitation)
    client.get(url)  # sessions made once
    with django_assert_max_num_queries(25):
        client.get(url)


def test_choosing_a_session_moves_the_invitation_once(client, invitation) -> None:
    url = _url(invitation)
    target, other = free_sessions(invitation)[:2]
    response = client.post(url, {"session": target.pk})
    assert response.status_code == 303
    moved = Invitation.objects.get(replaces=invitation)
    assert moved.session_id == target.pk and moved.state == Invitation.State.PLANNED
    assert response.headers["Location"] == _url(moved)
    new_page = client.get(response.headers["Location"]).content.decode()
    assert "Jadwal Anda sudah diganti" in new_page
    assert f"{timezone_hours(target)} WIB" in new_page

    again = client.post(url, {"session": other.pk})
    assert again.status_code == 410
    assert "sudah digunakan" in again.content.decode()
    assert Invitation.objects.count() == 3
    assert "sudah digunakan" in client.get(url).content.decode()


def timezone_hours(session: Session) -> str:
    start, end = timezone.localtime(session.starts_at), timezone.localtime(session.ends_at)
    return f"{start:%H.%M}–{end:%H.%M}"


def test_a_session_after_the_polls_close_is_refused(client, invitation) -> None:
    closed = deadline_of(invitation.election)
    late = Session.objects.filter(service_point=invitation.service_point, ends_at__gt=closed)
    response = client.post(_url(invitation), {"session": late[0].pk})
    assert response.status_code == 303
    assert "sudah penuh atau tidak dapat dipilih" in client.get(_url(invitation)).content.decode()
    assert Invitation.objects.get(pk=invitation.pk).state == Invitation.State.PLANNED
    assert Invitation.objects.count() == 2


def test_an_expired_link_is_refused(client, invitation, now) -> None:
    url = _url(invitation)
    now["at"] = invitation.starts_at + timedelta(minutes=1)
    response = client.get(url)
    assert response.status_code == 410
    assert "kedaluwarsa" in response.content.decode()


def test_a_tampered_link_is_refused(client, invitation) -> None:
    token = reschedule_token(invitation)
    response = client.get(f"/undangan/jadwal/{token[:-3]}abc/")
    assert response.status_code == 410
    assert "tidak sah" in response.content.decode()


def test_a_calendar_link_does_not_reschedule(client, invitation) -> None:
    response = client.get(f"/undangan/jadwal/{calendar_token(invitation)}/")
    assert response.status_code == 410


def test_refused_links_and_changes_are_rate_limited(client, invitation, settings) -> None:
    settings.ANTREAN_RATE_IP_PER_MINUTE = 3
    codes = [client.get(f"/undangan/jadwal/salah-{n}/").status_code for n in range(4)]
    assert codes == [410, 410, 410, 429]
    # A valid link still opens (reading is free) but a change is refused.
    assert client.get(_url(invitation)).status_code == 200
    target = free_sessions(invitation)[0]
    assert client.post(_url(invitation), {"session": target.pk}).status_code == 429
    assert Invitation.objects.get(pk=invitation.pk).state == Invitation.State.PLANNED


def test_the_calendar_file_downloads_while_the_invitation_stands(client, invitation) -> None:
    url = f"/undangan/kalender/{calendar_token(invitation)}.ics"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "DTSTART:20201208T010000Z" in response.content.decode()
    client.post(_url(invitation), {"session": free_sessions(invitation)[0].pk})
    assert client.get(url).status_code == 410


def test_the_new_invitation_gets_its_own_message_with_the_new_time(
    client, invitation, settings
) -> None:
    settings.INVITATIONS_PUBLIC_URL = "https://rekam.example.go.id"
    resident = make_resident(KEDATON, name="Warga Pindah")
    VoterCheck.objects.filter(voter_id=invitation.voter_id).update(resident=resident)
    target = free_sessions(invitation)[0]
    client.post(_url(invitation), {"session": target.pk})
    moved = Invitation.objects.get(replaces=invitation)
    message = Message.objects.get(idempotency_key=f"invitation:{moved.reference}")
    assert message.template == "invitation" and message.resident_id == resident.pk
    assert message.data["starts_at"] == target.starts_at.isoformat()
    assert message.data["code"] == moved.reference[-8:].upper()
    # Tokens carry the second they were made: read them back rather than compare the text.
    assert message.data["reschedule_url"].startswith("https://rekam.example.go.id/undangan/jadwal/")
    reschedule = message.data["reschedule_url"].rsplit("/jadwal/", 1)[1].rstrip("/")
    assert token_of(reschedule, tokens.RESCHEDULE, moved)
    calendar = re.fullmatch(
        r"https://rekam\.example\.go\.id/undangan/kalender/(.+)\.ics", message.data["calendar_url"]
    )
    assert calendar is not None and token_of(calendar[1], tokens.CALENDAR, moved)


def test_the_new_invitation_can_be_moved_again_once_per_link(client, invitation) -> None:
    first_url = _url(invitation)
    target, later = free_sessions(invitation)[:2]
    moved_url = client.post(first_url, {"session": target.pk}).headers["Location"]
    body = client.get(moved_url).content.decode()
    assert "Anda dapat mengganti jadwal lagi sebelum Selasa, 8 Desember 2020 09.00 WIB" in body
    assert client.post(first_url, {"session": later.pk}).status_code == 410
    again_url = client.post(moved_url, {"session": later.pk}).headers["Location"]
    assert again_url != moved_url
    assert client.get(moved_url).status_code == 410
    assert client.get(again_url).status_code == 200

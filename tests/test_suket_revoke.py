"""An officer revokes one Suket from the resident's page: supervisors and admins of the issuing
office's jurisdiction, with a reason; the revocation list and both verifiers then say so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from rekam.accounts.models import Role
from rekam.accounts.services import user_create
from rekam.audit.models import AuditEntry
from rekam.residents.states import KtpState
from rekam.suket.keys import published_keys
from rekam.suket.models import Suket
from rekam.suket.services import revocation_list_published, suket_issue
from rekam.suket.verify import DICABUT, SAH, KeySet, RevocationList, verify_qr_text

from .conftest import PASSWORD
from .factories import make_resident
from .test_suket_support import make_pilkada, ready_office

REFUSED_ROLE = "Hanya supervisor atau admin dinas yang boleh mencabut Suket."


@pytest.fixture
def suket(personas) -> Suket:
    ready_office(personas.bdl_office, blanks=0)
    today = timezone.localdate()
    election = make_pilkada()
    election.polling_day = election.suket_issue_until = today + timedelta(days=3)
    election.suket_valid_until = today + timedelta(days=20)
    election.save()
    resident = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    issued = suket_issue(resident=resident, election=election).suket
    assert issued is not None
    return issued


def offline(client, text: str) -> str:
    """The offline verifier's verdict, from the published keys and revocation list."""
    return verify_qr_text(
        text,
        keys=KeySet.from_published(client.get("/verifikasi/kunci.json").json()["keys"]),
        revoked=RevocationList.from_published(client.get("/verifikasi/cabut.json").json()),
        now=timezone.now(),
    ).status


def online(client, text: str) -> str:
    return client.get("/verifikasi/periksa", {"qr": text}).json()["status"]


def revoke(client, suket: Suket, reason: str = "Diterbitkan di luar ketentuan R8"):
    return client.post(f"/suket/{suket.pk}/cabut/", {"reason": reason}, follow=True)


def test_a_supervisor_revokes_with_a_reason_and_the_qr_stops_verifying(personas, client, suket):
    assert online(client, suket.qr_text) == SAH and offline(client, suket.qr_text) == SAH
    client.force_login(personas.bdl_supervisor)
    page = revoke(client, suket)
    assert page.redirect_chain[-1][0] == (f"/suket/penduduk/{suket.resident.nik}/#suket-{suket.pk}")
    html = page.content.decode()
    assert suket.number in html and "Diterbitkan di luar ketentuan R8" in html
    suket.refresh_from_db()
    assert (
        suket.revoked_at is not None and suket.revoked_reason == "Diterbitkan di luar ketentuan R8"
    )
    client.logout()  # the verifiers are public
    assert online(client, suket.qr_text) == DICABUT
    assert offline(client, suket.qr_text) == DICABUT
    assert revocation_list_published()["count"] == 1
    entry = AuditEntry.objects.get(action="suket.revoke", object_id=str(suket.pk))
    assert entry.actor == personas.bdl_supervisor
    assert entry.changes == {"revoked": [False, True]}
    assert entry.reason == "Diterbitkan di luar ketentuan R8"


def test_the_resident_page_offers_the_revoke_form_to_a_supervisor_only(personas, client, suket):
    url = f"/suket/penduduk/{suket.resident.nik}/"
    client.force_login(personas.bdl_supervisor)
    assert f"/suket/{suket.pk}/cabut/" in client.get(url).content.decode()
    client.force_login(personas.bdl_operator)
    assert f"/suket/{suket.pk}/cabut/" not in client.get(url).content.decode()


def test_an_operator_is_refused_with_the_reason(personas, client, suket):
    client.force_login(personas.bdl_operator)
    response = client.post(f"/suket/{suket.pk}/cabut/", {"reason": "Tidak sah"})
    assert response.status_code == 403
    assert REFUSED_ROLE in response.content.decode()
    suket.refresh_from_db()
    assert suket.revoked_at is None


def test_a_supervisor_of_another_regency_is_refused(personas, client, suket):
    lamsel = user_create(
        username="lamsel_supervisor",
        password=PASSWORD,
        role=Role.SUPERVISOR,
        office=personas.lamsel_office,
    )
    client.force_login(lamsel)
    # The holder lives in Bandar Lampung: not even found.
    assert client.post(f"/suket/{suket.pk}/cabut/", {"reason": "x"}).status_code == 404
    # Once the holder lives in Lampung Selatan the Suket is seen there, but Bandar Lampung
    # issued it: revoking it is not Lampung Selatan's to do.
    suket.resident.village_id = "18.01.04.2001"
    suket.resident.regency_id = "18.01"
    suket.resident.save(update_fields=["village", "regency"])
    response = client.post(f"/suket/{suket.pk}/cabut/", {"reason": "x"})
    assert response.status_code == 403
    assert "di luar wilayah kerja" in response.content.decode()
    suket.refresh_from_db()
    assert suket.revoked_at is None


def test_a_revoke_without_a_reason_is_refused(personas, client, suket):
    client.force_login(personas.bdl_supervisor)
    html = revoke(client, suket, reason="   ").content.decode()
    assert "Alasan pencabutan Suket wajib diisi." in html
    suket.refresh_from_db()
    assert suket.revoked_at is None
    assert not AuditEntry.objects.filter(action="suket.revoke").exists()


def test_a_suket_is_revoked_once(personas, client, suket):
    client.force_login(personas.bdl_admin)
    revoke(client, suket)
    html = revoke(client, suket, reason="Lagi").content.decode()
    assert "sudah dicabut" in html
    suket.refresh_from_db()
    assert suket.revoked_reason == "Diterbitkan di luar ketentuan R8"
    assert AuditEntry.objects.filter(action="suket.revoke").count() == 1


def test_the_province_admin_may_revoke(personas, client, suket):
    client.force_login(personas.province_admin)
    revoke(client, suket)
    suket.refresh_from_db()
    assert suket.revoked_at is not None
    assert published_keys()  # the key stays published: only this Suket stops verifying


def test_the_issuing_office_revokes_a_suket_whose_holder_moved_away(personas, client, suket):
    lamsel = user_create(
        username="lamsel_supervisor",
        password=PASSWORD,
        role=Role.SUPERVISOR,
        office=personas.lamsel_office,
    )
    # The holder moves from Bandar Lampung, which issued the Suket, to Lampung Selatan.
    suket.resident.village_id = "18.01.04.2001"
    suket.resident.regency_id = "18.01"
    suket.resident.save(update_fields=["village", "regency"])
    client.force_login(lamsel)  # finds it (the holder lives here) but may not revoke it
    response = client.post(f"/suket/{suket.pk}/cabut/", {"reason": "x"})
    assert response.status_code == 403
    assert "di luar wilayah kerja" in response.content.decode()
    client.force_login(personas.bdl_supervisor)  # the issuing office answers for it
    page = revoke(client, suket)
    # Back to the Suket page: the holder's page is no longer Bandar Lampung's to show.
    assert page.redirect_chain == [("/suket/", 302)]
    assert suket.number in page.content.decode()
    suket.refresh_from_db()
    assert suket.revoked_reason == "Diterbitkan di luar ketentuan R8"
    entry = AuditEntry.objects.get(action="suket.revoke", object_id=str(suket.pk))
    assert entry.actor == personas.bdl_supervisor


def test_a_revoked_suket_is_no_longer_downloaded_or_printed(personas, client, suket):
    client.force_login(personas.bdl_supervisor)
    assert client.get(f"/suket/{suket.pk}/pdf/").status_code == 200
    revoke(client, suket)
    refused = client.get(f"/suket/{suket.pk}/pdf/?cetak=1")
    assert refused.status_code == 403
    assert "sudah dicabut" in refused.content.decode()
    page = client.get(f"/suket/penduduk/{suket.resident.nik}/").content.decode()
    assert f"/suket/{suket.pk}/pdf/" not in page


def test_revoke_from_the_list_opens_the_revoke_box(personas, client, suket):
    client.force_login(personas.bdl_supervisor)
    listed = client.get("/suket/").content.decode()
    link = f"/suket/penduduk/{suket.resident.nik}/?cabut={suket.pk}#suket-{suket.pk}"
    assert link in listed
    opened = client.get(f"/suket/penduduk/{suket.resident.nik}/", {"cabut": suket.pk})
    assert '<details class="revoke-suket" open>' in opened.content.decode()
    closed = client.get(f"/suket/penduduk/{suket.resident.nik}/").content.decode()
    assert '<details class="revoke-suket">' in closed


def test_the_stock_book_names_people_by_name(personas, client):
    from rekam.suket.stock import blank_receive

    personas.bdl_admin.first_name, personas.bdl_admin.last_name = "Rina", "Wulandari"
    personas.bdl_admin.save()
    blank_receive(office=personas.bdl_office, count=5, batch="N-1", acting_user=personas.bdl_admin)
    client.force_login(personas.bdl_admin)
    page = client.get("/suket/stok/", {"kantor": "18.71"}).content.decode()
    assert "Rina Wulandari" in page

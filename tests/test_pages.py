"""Staff pages: login, home counts, resident search, resident page, moves and corrections."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from rekam.accounts.models import User
from rekam.audit.models import AuditEntry
from rekam.elections.models import Election
from rekam.notifications import texts
from rekam.notifications.models import Channel, Consent
from rekam.notifications.services import message_send
from rekam.regions.models import Region
from rekam.residents.models import MaritalStatus, RecordEvent
from rekam.residents.states import KtpState
from rekam.suket.services import suket_issue
from rekam.web import search
from rekam.web.summary import NOT_YET_REQUIRED, state_summary

from .conftest import PASSWORD
from .factories import make_resident
from .fakes.helpers import make_worker
from .test_suket_support import jakarta, make_pilkada, ready_office

BDL_VILLAGE = "18.71.01.1003"
LAMSEL_VILLAGE = "18.01.04.2001"


def login(client, user):
    client.force_login(user)
    return client


def detail_url(resident):
    return reverse("resident_detail", kwargs={"nik": resident.nik})


def move_url(resident):
    return reverse("resident_move", kwargs={"nik": resident.nik})


def edit_url(resident):
    return reverse("resident_edit", kwargs={"nik": resident.nik})


def spaced(nik):
    return f"{nik[:6]} {nik[6:12]} {nik[12:]}"


# Login, logout, language


def test_it_shows_the_login_page_in_indonesian(client, db):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<h1 id="login-title">Masuk</h1>' in html
    assert 'lang="id"' in html


def test_an_english_browser_still_gets_indonesian_until_the_switch(client, db):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<h1 id="login-title">Masuk</h1>' in html


def test_it_shows_the_login_page_in_english_after_the_language_switch(client, db):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/masuk/"})
    assert response.status_code == 302
    html = client.get(reverse("login")).content.decode()
    assert '<h1 id="login-title">Log in</h1>' in html
    assert 'lang="en"' in html


def test_it_logs_in_with_username_and_password(client, personas):
    response = client.post(
        reverse("login"), {"username": "bdl_operator", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    assert response.context["user"] == personas.bdl_operator


def test_it_refuses_a_wrong_password_in_indonesian(client, personas):
    response = client.post(reverse("login"), {"username": "bdl_operator", "password": "salah"})
    assert response.status_code == 200
    assert "Nama pengguna atau sandi salah." in response.content.decode()


def test_it_logs_out_with_post(client, personas):
    login(client, personas.bdl_operator)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_it_sends_anonymous_visitors_to_the_login_page(client, db):
    response = client.get(reverse("resident_search"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Home


def test_the_home_page_shows_office_role_and_counts(client, personas):
    make_resident(BDL_VILLAGE)
    make_resident(BDL_VILLAGE, ktp_state=KtpState.PRINT_READY_RECORD)
    make_resident(LAMSEL_VILLAGE)
    login(client, personas.bdl_operator)
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert personas.bdl_office.name in html
    assert "Operator" in html
    summary = response.context["summary"]
    assert summary.total.total == 2  # Lampung Selatan's resident is not counted
    assert summary.total.counts == {KtpState.BELUM_REKAM: 1, KtpState.PRINT_READY_RECORD: 1}


def test_the_province_home_page_has_one_row_per_regency_and_a_total(client, personas):
    make_resident(BDL_VILLAGE)
    make_resident(LAMSEL_VILLAGE)
    make_resident(LAMSEL_VILLAGE, ktp_state=KtpState.CARD_PRINTED)
    login(client, personas.province_admin)
    response = client.get(reverse("home"))
    summary = response.context["summary"]
    assert [(r.code, r.total) for r in summary.rows] == [("18.01", 2), ("18.71", 1)]
    assert summary.total.total == 3
    html = response.content.decode()
    assert "Kota Bandar Lampung" in html or "Bandar Lampung" in html
    assert response.context["by_regency"] is True


def test_an_account_without_office_is_told_to_ask_the_admin(client, db):
    user = User.objects.create_user(username="baru", password="x")
    client.force_login(user)
    response = client.get(reverse("home"))
    assert "summary" not in response.context
    assert "Akun Anda belum terhubung ke kantor dan peran." in response.content.decode()


def test_an_account_without_office_cannot_search(client, db):
    client.force_login(User.objects.create_user(username="baru", password="x"))
    response = client.get(reverse("resident_search"), {"q": "siti"})
    assert response.status_code == 403
    assert "Anda tidak berwenang melihat data penduduk." in response.content.decode()


def test_the_state_summary_takes_one_query(personas, django_assert_num_queries):
    for village in (BDL_VILLAGE, LAMSEL_VILLAGE, BDL_VILLAGE):
        make_resident(village)
    user = personas.province_admin
    user.office.region  # noqa: B018 (load the jurisdiction before counting queries)
    # The upcoming polling days (who is too young to record), the counts per regency and state,
    # those too young among the unrecorded, then the regencies' names.
    with django_assert_num_queries(4):
        summary = state_summary(user)
    assert summary.total.total == 3


def test_the_state_summary_counts_every_resident_once_by_the_rules(personas):
    today = timezone.localdate()
    child, adult = today.replace(year=today.year - 10), date(1990, 5, 17)
    almost = today.replace(year=today.year - 17) + timedelta(days=10)  # 17 before polling day
    people = [
        (BDL_VILLAGE, child, MaritalStatus.SINGLE, KtpState.BELUM_REKAM),  # not yet required
        (BDL_VILLAGE, child, MaritalStatus.MARRIED, KtpState.BELUM_REKAM),  # married: must
        (BDL_VILLAGE, adult, MaritalStatus.SINGLE, KtpState.BELUM_REKAM),
        (BDL_VILLAGE, almost, MaritalStatus.SINGLE, KtpState.BELUM_REKAM),  # first-time voter
        (BDL_VILLAGE, child, MaritalStatus.SINGLE, KtpState.BIO_CAPTURED),  # recorded already
        (LAMSEL_VILLAGE, almost, MaritalStatus.SINGLE, KtpState.BELUM_REKAM),  # no election
        (LAMSEL_VILLAGE, adult, MaritalStatus.SINGLE, KtpState.CARD_PRINTED),
        (LAMSEL_VILLAGE, child, MaritalStatus.SINGLE, KtpState.BELUM_REKAM),
    ]
    for village, born, marital, state in people:
        make_resident(village, birth_date=born, marital_status=marital, ktp_state=state)
    polling = today + timedelta(days=30)
    election = Election.objects.create(
        name="Pilkada", slug="pilkada", polling_day=polling,
        suket_issue_until=polling, suket_valid_until=polling,
    )  # fmt: skip
    election.regions.add(Region.objects.get(code="18.71"))
    summary = state_summary(personas.province_admin)
    not_yet, unrecorded = NOT_YET_REQUIRED, KtpState.BELUM_REKAM
    assert [(r.code, r.name, r.counts) for r in summary.rows] == [
        ("18.01", "Kab. Lampung Selatan", {unrecorded: 0, not_yet: 2, KtpState.CARD_PRINTED: 1}),
        ("18.71", "Kota Bandar Lampung", {unrecorded: 3, not_yet: 1, KtpState.BIO_CAPTURED: 1}),
    ]
    assert summary.total.counts == {
        unrecorded: 3, not_yet: 3, KtpState.BIO_CAPTURED: 1, KtpState.CARD_PRINTED: 1
    }  # fmt: skip
    assert summary.total.total == len(people)


def test_the_state_summary_counts_residents_without_joining_their_regions(personas):
    make_resident(BDL_VILLAGE)
    make_resident(LAMSEL_VILLAGE)
    with CaptureQueriesContext(connection) as queries:
        state_summary(personas.province_admin)
    # Joined with the regions for their names, the grouping sorted every resident.
    counts = [q["sql"] for q in queries if 'FROM "residents_resident"' in q["sql"]]
    assert counts and not [sql for sql in counts if "regions_region" in sql]


# Search


def test_it_finds_a_resident_by_nik_typed_with_spaces(client, personas):
    r = make_resident(BDL_VILLAGE, name="Budi Santoso", sex="L")
    login(client, personas.bdl_operator)
    response = client.get(reverse("resident_search"), {"q": spaced(r.nik)})
    assert list(response.context["page"].object_list) == [r]
    assert detail_url(r) in response.content.decode()


def test_it_finds_a_resident_by_nik_with_dots_and_a_spreadsheet_apostrophe(client, personas):
    r = make_resident(BDL_VILLAGE)
    login(client, personas.bdl_operator)
    query = "'" + ".".join([r.nik[:2], r.nik[2:4], r.nik[4:6], r.nik[6:]])
    response = client.get(reverse("resident_search"), {"q": query})
    assert list(response.context["page"].object_list) == [r]


def test_it_says_why_a_malformed_nik_is_refused(client, personas):
    login(client, personas.bdl_operator)
    response = client.get(reverse("resident_search"), {"q": "1871 0157 0590"})
    assert response.status_code == 200
    assert "harus 16 digit, bukan 12" in response.content.decode()


def test_it_says_why_a_nik_with_an_impossible_month_is_refused(client, personas):
    login(client, personas.bdl_operator)
    response = client.get(reverse("resident_search"), {"q": "1871015713900001"})
    assert "bulan lahir pada NIK harus 01-12" in response.content.decode()


def test_it_finds_residents_by_name_prefix_only_when_the_prefix_matches(client, personas):
    make_resident(BDL_VILLAGE, name="Ahmad Rahman", sex="L")
    prefix = make_resident(BDL_VILLAGE, name="Rahmawati", sex="P")
    make_resident(BDL_VILLAGE, name="Siti Aminah")
    login(client, personas.bdl_operator)
    response = client.get(reverse("resident_search"), {"q": "rahma"})
    assert list(response.context["page"].object_list) == [prefix]
    assert response.context["outcome"].anywhere is False


def test_a_regency_search_falls_back_to_names_containing_the_letters(client, personas):
    inside = make_resident(BDL_VILLAGE, name="Ahmad Rahman", sex="L")
    make_resident(BDL_VILLAGE, name="Siti Aminah")
    login(client, personas.bdl_operator)
    response = client.get(reverse("resident_search"), {"q": "rahman"})
    assert list(response.context["page"].object_list) == [inside]
    assert response.context["outcome"].anywhere is True
    assert "Tidak ada nama yang diawali huruf ini" in response.content.decode()


def test_a_province_search_never_scans_for_letters_inside_names(client, personas):
    make_resident(BDL_VILLAGE, name="Ahmad Rahman", sex="L")
    login(client, personas.province_admin)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("resident_search"), {"q": "rahman"})
    assert list(response.context["page"].object_list) == []
    assert not [q["sql"] for q in queries if "%RAHMAN" in q["sql"]]


def test_a_name_search_counts_no_further_than_the_cap(client, personas, monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 30)
    for i in range(32):
        make_resident(BDL_VILLAGE, name=f"Warga Uji {i:02d}")
    login(client, personas.bdl_operator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("resident_search"), {"q": "warga"})
    page = response.context["page"]
    assert (len(page.object_list), page.count, page.has_next) == (25, None, True)
    assert "Lebih dari 30 penduduk ditemukan" in response.content.decode()
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts)


def test_a_small_result_is_counted_exactly(client, personas):
    for i in range(3):
        make_resident(BDL_VILLAGE, name=f"Warga Uji {i:02d}")
    login(client, personas.bdl_operator)
    response = client.get(reverse("resident_search"), {"q": "warga"})
    assert response.context["page"].count == 3
    assert "3 penduduk ditemukan" in response.content.decode()


def test_it_paginates_search_results(client, personas):
    for i in range(27):
        make_resident(BDL_VILLAGE, name=f"Warga Uji {i:02d}")
    login(client, personas.bdl_operator)
    first = client.get(reverse("resident_search"), {"q": "warga"})
    second = client.get(reverse("resident_search"), {"q": "warga", "page": 2})
    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 2


def test_search_does_not_list_residents_of_another_regency_by_name(client, personas):
    make_resident(LAMSEL_VILLAGE, name="Siti Lamsel")
    login(client, personas.bdl_operator)
    response = client.get(reverse("resident_search"), {"q": "siti"})
    assert list(response.context["page"].object_list) == []
    assert "Siti Lamsel" not in response.content.decode()


def test_search_does_not_list_residents_of_another_regency_by_nik(client, personas):
    r = make_resident(LAMSEL_VILLAGE)
    login(client, personas.bdl_operator)
    response = client.get(reverse("resident_search"), {"q": r.nik})
    assert list(response.context["page"].object_list) == []


def test_the_province_admin_finds_residents_of_both_regencies(client, personas):
    a = make_resident(BDL_VILLAGE, name="Siti Kota")
    b = make_resident(LAMSEL_VILLAGE, name="Siti Desa")
    login(client, personas.province_admin)
    response = client.get(reverse("resident_search"), {"q": "siti"})
    assert set(response.context["page"].object_list) == {a, b}


# Resident page


def test_the_resident_page_shows_data_state_and_full_nik(client, personas):
    r = make_resident(BDL_VILLAGE, name="Siti Aminah", birth_place="Teluk Betung")
    login(client, personas.bdl_operator)
    response = client.get(detail_url(r))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Siti Aminah" in html and "Teluk Betung" in html
    assert f"{r.nik[:2]} {r.nik[2:4]} {r.nik[4:6]} {r.nik[6:12]} {r.nik[12:]}" in html
    assert "Belum rekam" in html


def test_the_resident_page_of_another_regency_is_not_found(client, personas):
    r = make_resident(LAMSEL_VILLAGE, name="Siti Lamsel")
    login(client, personas.bdl_operator)
    response = client.get(detail_url(r))
    assert response.status_code == 404
    assert "Siti Lamsel" not in response.content.decode()


def test_the_province_admin_opens_residents_of_both_regencies(client, personas):
    login(client, personas.province_admin)
    for village in (BDL_VILLAGE, LAMSEL_VILLAGE):
        assert client.get(detail_url(make_resident(village))).status_code == 200


def test_the_resident_page_offers_the_office_moves_from_the_current_state(client, personas):
    r = make_resident(BDL_VILLAGE, ktp_state=KtpState.SEARCH_FAILURE)
    login(client, personas.bdl_operator)
    response = client.get(detail_url(r))
    assert [m["to_state"] for m in response.context["moves"]] == [KtpState.BIO_CAPTURED]


def test_a_print_ready_resident_is_printed_through_the_print_screen_not_a_bare_move(
    client, personas
):
    r = make_resident(BDL_VILLAGE, ktp_state=KtpState.PRINT_READY_RECORD)
    login(client, personas.bdl_operator)
    response = client.get(detail_url(r))
    assert response.context["moves"] == []
    assert reverse("suket_decision", kwargs={"nik": r.nik}) in response.content.decode()
    response = client.post(move_url(r), {"to_state": KtpState.CARD_PRINTED}, follow=True)
    assert "satu blangko dipakai" in response.content.decode()
    r.refresh_from_db()
    assert r.ktp_state == KtpState.PRINT_READY_RECORD


def test_the_resident_page_offers_no_move_while_the_central_system_works(client, personas):
    r = make_resident(BDL_VILLAGE, ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    login(client, personas.bdl_operator)
    assert client.get(detail_url(r)).context["moves"] == []


def test_the_resident_page_shows_no_move_buttons_to_a_queue_officer(client, personas):
    r = make_resident(BDL_VILLAGE)
    login(client, personas.bdl_queue)
    response = client.get(detail_url(r))
    assert response.status_code == 200
    assert response.context["moves"] == []
    assert move_url(r) not in response.content.decode()


# Moves


def test_an_operator_records_biometrics_and_the_timeline_shows_it(client, personas):
    r = make_resident(BDL_VILLAGE)
    login(client, personas.bdl_operator)
    response = client.post(
        move_url(r), {"to_state": KtpState.BIO_CAPTURED, "reason": "loket 2"}, follow=True
    )
    event = RecordEvent.objects.get(resident=r)
    assert (event.from_state, event.to_state, event.actor) == (
        KtpState.BELUM_REKAM,
        KtpState.BIO_CAPTURED,
        personas.bdl_operator,
    )
    assert event.reason == "loket 2"
    r.refresh_from_db()
    assert r.ktp_state == KtpState.BIO_CAPTURED
    assert list(response.context["events"]) == [event]
    assert "Status KTP-el sekarang: Sudah rekam biometrik" in response.content.decode()


def test_a_queue_officer_is_refused_a_move_with_the_reason(client, personas):
    r = make_resident(BDL_VILLAGE)
    login(client, personas.bdl_queue)
    response = client.post(move_url(r), {"to_state": KtpState.BIO_CAPTURED})
    assert response.status_code == 403
    assert "Anda tidak berwenang mencatat perekaman KTP-el." in response.content.decode()
    r.refresh_from_db()
    assert r.ktp_state == KtpState.BELUM_REKAM
    assert not RecordEvent.objects.exists()


def test_an_operator_of_another_regency_cannot_move_a_record(client, personas):
    r = make_resident(BDL_VILLAGE)
    login(client, personas.lamsel_operator)
    response = client.post(move_url(r), {"to_state": KtpState.BIO_CAPTURED})
    assert response.status_code == 404
    r.refresh_from_db()
    assert r.ktp_state == KtpState.BELUM_REKAM
    assert not RecordEvent.objects.exists()


def test_a_move_the_table_forbids_is_refused_with_the_reason(client, personas):
    r = make_resident(BDL_VILLAGE)
    login(client, personas.bdl_operator)
    response = client.post(move_url(r), {"to_state": KtpState.CARD_PRINTED}, follow=True)
    assert "tidak diizinkan" in response.content.decode()
    r.refresh_from_db()
    assert r.ktp_state == KtpState.BELUM_REKAM


def test_a_central_move_is_refused_to_an_office(client, personas):
    r = make_resident(BDL_VILLAGE, ktp_state=KtpState.BIO_CAPTURED)
    login(client, personas.bdl_operator)
    response = client.post(move_url(r), {"to_state": KtpState.PRINT_READY_RECORD}, follow=True)
    assert "hanya dapat dilakukan oleh sistem pusat (SIAK)" in response.content.decode()
    assert not RecordEvent.objects.exists()


def test_a_move_cannot_be_made_with_get(client, personas):
    r = make_resident(BDL_VILLAGE)
    login(client, personas.bdl_operator)
    assert client.get(move_url(r), {"to_state": KtpState.BIO_CAPTURED}).status_code == 405
    assert not RecordEvent.objects.exists()


# Corrections


def edit_data(resident, **changes):
    data = {
        "kk_number": resident.kk_number,
        "name": resident.name,
        "birth_place": resident.birth_place,
        "birth_date": resident.birth_date.isoformat(),
        "sex": resident.sex,
        "religion": resident.religion,
        "marital_status": resident.marital_status,
        "occupation": resident.occupation,
        "citizenship": resident.citizenship,
        "village": resident.village_id,
        "rt": resident.rt,
        "rw": resident.rw,
        "street": resident.street,
        "phone": resident.phone,
        "reason": "sesuai KK terbaru",
    }
    data.update(changes)
    return data


def test_a_correction_writes_an_audit_entry_with_old_and_new_values(client, personas):
    r = make_resident(BDL_VILLAGE, name="Siti Aminah", occupation="Petani")
    login(client, personas.bdl_operator)
    response = client.post(edit_url(r), edit_data(r, name="Siti Aminah Lubis", occupation="Guru"))
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="resident.update")
    assert entry.changes == {
        "name": ["Siti Aminah", "Siti Aminah Lubis"],
        "occupation": ["Petani", "Guru"],
    }
    assert entry.actor == personas.bdl_operator
    assert entry.reason == "sesuai KK terbaru"
    r.refresh_from_db()
    assert (r.name, r.name_key) == ("Siti Aminah Lubis", "SITI AMINAH LUBIS")


def test_the_resident_page_lists_data_changes(client, personas):
    r = make_resident(BDL_VILLAGE, occupation="Petani")
    login(client, personas.bdl_operator)
    client.post(edit_url(r), edit_data(r, occupation="Guru"))
    html = client.get(detail_url(r)).content.decode()
    assert "<del>Petani</del>" in html and "<ins>Guru</ins>" in html


def test_a_correction_without_a_reason_is_refused(client, personas):
    r = make_resident(BDL_VILLAGE)
    login(client, personas.bdl_operator)
    response = client.post(edit_url(r), edit_data(r, name="Nama Baru", reason=""))
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert not AuditEntry.objects.filter(action="resident.update").exists()


def test_a_correction_cleans_the_family_card_number(client, personas):
    r = make_resident(BDL_VILLAGE)
    login(client, personas.bdl_operator)
    client.post(edit_url(r), edit_data(r, kk_number="'1871 0112 0519 0003"))
    r.refresh_from_db()
    assert r.kk_number == "1871011205190003"


def test_a_correction_normalises_the_phone_number(client, personas):
    r = make_resident(BDL_VILLAGE)
    login(client, personas.bdl_operator)
    client.post(edit_url(r), edit_data(r, phone="0812-3456-7890"))
    r.refresh_from_db()
    assert r.phone == "+6281234567890"


def test_a_correction_cannot_move_a_resident_to_another_regency(client, personas):
    r = make_resident(BDL_VILLAGE)
    login(client, personas.bdl_operator)
    response = client.post(edit_url(r), edit_data(r, village=LAMSEL_VILLAGE))
    assert response.status_code == 200
    assert response.context["form"].errors["village"]
    r.refresh_from_db()
    assert r.village_id == BDL_VILLAGE


def test_a_correction_with_no_change_writes_nothing(client, personas):
    r = make_resident(BDL_VILLAGE, birth_date=date(1990, 5, 17))
    login(client, personas.bdl_operator)
    response = client.post(edit_url(r), edit_data(r), follow=True)
    assert "Tidak ada yang diubah." in response.content.decode()
    assert not AuditEntry.objects.filter(action="resident.update").exists()


def test_a_queue_officer_cannot_open_the_correction_form(client, personas):
    r = make_resident(BDL_VILLAGE)
    login(client, personas.bdl_queue)
    response = client.get(edit_url(r))
    assert response.status_code == 403
    assert "Anda tidak berwenang mengubah data penduduk." in response.content.decode()


def test_an_operator_of_another_regency_cannot_correct_a_resident(client, personas):
    r = make_resident(BDL_VILLAGE, name="Siti Aminah")
    login(client, personas.lamsel_operator)
    response = client.post(edit_url(r), edit_data(r, name="Diubah"))
    assert response.status_code == 404
    r.refresh_from_db()
    assert r.name == "Siti Aminah"
    assert not AuditEntry.objects.filter(action="resident.update").exists()


@pytest.mark.parametrize("name", ["resident_search", "home"])
def test_pages_render_in_english_after_the_switch(client, personas, name):
    login(client, personas.bdl_operator)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = client.get(reverse(name)).content.decode()
    assert 'lang="en"' in html
    assert "Log out" in html


# The resident's Sukets and messages


@pytest.fixture
def issued_suket(personas):
    ready_office(personas.bdl_office, blanks=1)
    election = make_pilkada()
    resident = make_resident(BDL_VILLAGE, ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    suket = suket_issue(resident=resident, election=election, at=jakarta(2020, 12, 5)).suket
    assert suket is not None
    return suket


def test_the_resident_page_lists_the_residents_sukets_with_their_status(
    client, personas, issued_suket
):
    login(client, personas.bdl_operator)
    html = client.get(detail_url(issued_suket.resident)).content.decode()
    assert issued_suket.number in html
    assert issued_suket.election.name in html
    # Valid until 31-12-2020: long past, so expired, not "berlaku".
    assert ">kedaluwarsa<" in html
    assert reverse("suket_download", kwargs={"pk": issued_suket.pk}) in html


def test_the_resident_page_shows_no_suket_download_to_a_queue_officer(
    client, personas, issued_suket
):
    login(client, personas.bdl_queue)
    html = client.get(detail_url(issued_suket.resident)).content.decode()
    assert issued_suket.number in html
    assert reverse("suket_download", kwargs={"pk": issued_suket.pk}) not in html


def test_the_resident_page_lists_messages_sent_to_the_resident(
    client, personas, settings, tmp_path
):
    settings.NOTIFICATIONS_OUTBOX_DIR = tmp_path / "outbox"
    r = make_resident(BDL_VILLAGE, name="Warga Pesan", phone="+6281200000009")
    message = message_send(
        recipient=r,
        template="card_printed",
        data={"name": r.name, "place": "Kantor Kecamatan", "office": "Disdukcapil"},
        idempotency_key="resident-page-1",
        channels=["sms"],
    )
    make_worker().run(once=True)
    login(client, personas.bdl_operator)
    html = client.get(detail_url(r)).content.decode()
    assert reverse("notifications:message", kwargs={"pk": message.pk}) in html
    assert texts.family("card_printed").title("id") in html
    assert ">card_printed<" not in html


# WhatsApp consent


def test_an_operator_records_whatsapp_consent_with_its_source(client, personas):
    r = make_resident(BDL_VILLAGE, phone="+6281234567890")
    login(client, personas.bdl_operator)
    response = client.post(
        edit_url(r), {"action": "consent", "c-granted": "on", "c-source": "formulir tertulis"}
    )
    assert response.status_code == 302
    r.refresh_from_db()
    assert r.whatsapp_consent is True
    assert r.whatsapp_consent_source == "formulir tertulis"
    consent = Consent.objects.get(resident=r, channel=Channel.WHATSAPP)
    assert (consent.granted, consent.recorded_by) == (True, personas.bdl_operator)
    assert AuditEntry.objects.filter(action="consent.record").exists()


def test_withdrawing_whatsapp_consent_is_recorded(client, personas):
    r = make_resident(BDL_VILLAGE, phone="+6281234567890", whatsapp_consent=True)
    login(client, personas.bdl_operator)
    client.post(edit_url(r), {"action": "consent", "c-source": "telepon"})
    r.refresh_from_db()
    assert r.whatsapp_consent is False
    assert Consent.objects.get(resident=r, channel=Channel.WHATSAPP).granted is False


def test_whatsapp_consent_needs_a_phone_number(client, personas):
    r = make_resident(BDL_VILLAGE, phone="")
    login(client, personas.bdl_operator)
    response = client.post(
        edit_url(r), {"action": "consent", "c-granted": "on", "c-source": "telepon"}
    )
    assert response.status_code == 200
    assert "Catat dulu nomor telepon penduduk" in response.content.decode()
    r.refresh_from_db()
    assert r.whatsapp_consent is False
    assert not Consent.objects.exists()


def test_an_operator_of_another_regency_cannot_record_consent(client, personas):
    r = make_resident(BDL_VILLAGE, phone="+6281234567890")
    login(client, personas.lamsel_operator)
    response = client.post(
        edit_url(r), {"action": "consent", "c-granted": "on", "c-source": "telepon"}
    )
    assert response.status_code == 404
    assert not Consent.objects.exists()


def test_the_edit_page_offers_the_consent_form(client, personas):
    r = make_resident(BDL_VILLAGE, phone="+6281234567890")
    login(client, personas.bdl_operator)
    html = client.get(edit_url(r)).content.decode()
    assert 'name="c-granted"' in html and 'name="c-source"' in html


# Navigation


def nav_links(client):
    html = client.get(reverse("home")).content.decode()
    nav = html[html.index('class="mainnav"') : html.index("</nav>", html.index('class="mainnav"'))]
    return {
        name
        for name, url in {
            "suket": reverse("suket_list"),
            "print": reverse("suket_print_list"),
            "stock": reverse("suket_stock"),
            "messages": reverse("notifications:messages"),
        }.items()
        if f'href="{url}"' in nav
    }


def test_an_operator_has_every_suket_and_message_page_in_the_menu(client, personas):
    login(client, personas.bdl_operator)
    assert nav_links(client) == {"suket", "print", "stock", "messages"}


def test_a_queue_officer_has_no_print_list_in_the_menu(client, personas):
    login(client, personas.bdl_queue)
    assert "print" not in nav_links(client)


def test_an_account_without_a_role_has_none_of_them_in_the_menu(client, db):
    client.force_login(User.objects.create_user(username="baru", password="x"))
    assert nav_links(client) == set()


def test_the_home_page_of_a_regency_has_no_regency_rows(client, personas):
    login(client, personas.bdl_admin)
    assert client.get(reverse("home")).context["by_regency"] is False


def test_the_home_page_of_a_superuser_has_regency_rows(client, db):
    client.force_login(User.objects.create_superuser(username="root", password="x"))
    assert client.get(reverse("home")).context["by_regency"] is True


# Rate limit


def test_it_refuses_too_many_login_attempts_from_one_address(client, personas, settings):
    settings.RATELIMIT_LOGIN_PER_MINUTE = 2
    address = {"REMOTE_ADDR": "10.9.8.7"}
    wrong = {"username": "bdl_operator", "password": "salah"}
    for _ in range(2):
        assert client.post(reverse("login"), wrong, **address).status_code == 200
    response = client.post(reverse("login"), wrong, **address)
    assert response.status_code == 429
    assert "Terlalu banyak permintaan" in response.content.decode()
    assert response["Retry-After"] == "60"


def test_the_login_limit_counts_each_address_apart(client, personas, settings):
    settings.RATELIMIT_LOGIN_PER_MINUTE = 1
    wrong = {"username": "bdl_operator", "password": "salah"}
    client.post(reverse("login"), wrong, REMOTE_ADDR="10.9.8.1")
    assert client.post(reverse("login"), wrong, REMOTE_ADDR="10.9.8.2").status_code == 200
    assert client.get(reverse("login"), REMOTE_ADDR="10.9.8.1").status_code == 200

"""The Django admin follows Rekam's roles and jurisdictions, not Django's permission table."""

from __future__ import annotations

from datetime import date

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rekam.accounts.models import Role, User
from rekam.audit.models import AuditEntry
from rekam.elections.models import Election, ElectionRegion
from rekam.regions.models import Level, Region
from rekam.residents.models import RecordEvent, Resident
from rekam.residents.services import record_move, resident_update
from rekam.residents.states import KtpState
from rekam.servicepoints.models import ServicePoint

from .conftest import PASSWORD
from .factories import make_resident

BDL_VILLAGE = "18.71.01.1003"
LAMSEL_VILLAGE = "18.01.04.2001"


def changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change(obj):
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def resident_form(resident, **changes):
    data = {
        "name": resident.name,
        "kk_number": resident.kk_number,
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
        "reason": "",
    }
    data.update(changes)
    return data


# Residents


def test_the_resident_list_leaves_out_other_regencies(client, personas):
    mine = make_resident(BDL_VILLAGE, name="Siti Kota")
    make_resident(LAMSEL_VILLAGE, name="Siti Desa")
    client.force_login(personas.bdl_operator)
    response = client.get(changelist(Resident))
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [mine]
    assert "Siti Desa" not in response.content.decode()


def test_the_province_admin_lists_residents_of_both_regencies(client, personas):
    a, b = make_resident(BDL_VILLAGE), make_resident(LAMSEL_VILLAGE)
    client.force_login(personas.province_admin)
    response = client.get(changelist(Resident))
    assert set(response.context["cl"].result_list) == {a, b}


def test_the_change_page_of_a_resident_of_another_regency_is_not_found(client, personas):
    r = make_resident(LAMSEL_VILLAGE)
    client.force_login(personas.bdl_operator)
    assert client.get(change(r)).status_code == 404


def test_a_resident_of_another_regency_cannot_be_changed_through_the_admin(client, personas):
    r = make_resident(LAMSEL_VILLAGE, name="Siti Desa")
    client.force_login(personas.bdl_operator)
    response = client.post(change(r), resident_form(r, name="Diubah"))
    assert response.status_code == 404
    r.refresh_from_db()
    assert r.name == "Siti Desa"


def test_an_admin_edit_goes_through_the_service_and_is_audited(client, personas):
    r = make_resident(BDL_VILLAGE, name="Siti Aminah", occupation="Petani")
    client.force_login(personas.bdl_operator)
    response = client.post(change(r), resident_form(r, occupation="Pedagang", reason="salah ketik"))
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="resident.update")
    assert entry.changes == {"occupation": ["Petani", "Pedagang"]}
    assert (entry.actor, entry.reason) == (personas.bdl_operator, "salah ketik")


def test_an_admin_edit_keeps_the_name_key_in_step(client, personas):
    r = make_resident(BDL_VILLAGE, name="Siti Aminah")
    client.force_login(personas.bdl_operator)
    client.post(change(r), resident_form(r, name="siti  aminah lubis"))
    r.refresh_from_db()
    assert r.name_key == "SITI AMINAH LUBIS"


def test_the_admin_offers_only_villages_of_the_jurisdiction(client, personas):
    r = make_resident(BDL_VILLAGE)
    client.force_login(personas.bdl_operator)
    response = client.post(change(r), resident_form(r, village=LAMSEL_VILLAGE))
    assert response.status_code == 200
    assert "village" in response.context["adminform"].form.errors
    r.refresh_from_db()
    assert r.village_id == BDL_VILLAGE


def test_a_queue_officer_sees_residents_read_only(client, personas):
    r = make_resident(BDL_VILLAGE, name="Siti Aminah")
    client.force_login(personas.bdl_queue)
    assert client.get(change(r)).status_code == 200
    response = client.post(change(r), resident_form(r, name="Diubah"))
    assert response.status_code == 403
    r.refresh_from_db()
    assert r.name == "Siti Aminah"


def test_nobody_adds_or_deletes_residents_in_the_admin(client, personas):
    r = make_resident(BDL_VILLAGE)
    client.force_login(personas.province_admin)
    add = reverse("admin:residents_resident_add")
    delete = reverse("admin:residents_resident_delete", args=[r.pk])
    assert client.get(add).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Resident.objects.filter(pk=r.pk).exists()


def test_the_admin_searches_residents_by_nik_with_spaces(client, personas):
    r = make_resident(BDL_VILLAGE)
    make_resident(BDL_VILLAGE)
    client.force_login(personas.bdl_operator)
    response = client.get(changelist(Resident), {"q": f"{r.nik[:6]} {r.nik[6:]}"})
    assert list(response.context["cl"].result_list) == [r]


def test_record_events_are_read_only_and_scoped(client, personas):
    mine = make_resident(BDL_VILLAGE)
    theirs = make_resident(LAMSEL_VILLAGE)
    record_move(resident=mine, to_state=KtpState.BIO_CAPTURED, acting_user=personas.bdl_operator)
    record_move(
        resident=theirs, to_state=KtpState.BIO_CAPTURED, acting_user=personas.lamsel_operator
    )
    client.force_login(personas.bdl_operator)
    response = client.get(changelist(RecordEvent))
    assert [e.resident for e in response.context["cl"].result_list] == [mine]
    event = RecordEvent.objects.get(resident=theirs)
    assert client.get(change(event)).status_code == 404
    own = RecordEvent.objects.get(resident=mine)
    response = client.post(change(own), {"to_state": KtpState.CARD_PRINTED})
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.to_state == KtpState.BIO_CAPTURED


# Users


def test_a_regency_admin_lists_only_users_of_their_office(client, personas):
    client.force_login(personas.bdl_admin)
    response = client.get(changelist(User))
    usernames = {u.username for u in response.context["cl"].result_list}
    assert usernames == {"bdl_admin", "bdl_supervisor", "bdl_operator", "bdl_queue"}


def test_a_regency_admin_cannot_open_a_user_of_another_office(client, personas):
    client.force_login(personas.bdl_admin)
    assert client.get(change(personas.lamsel_operator)).status_code == 404
    assert client.get(change(personas.province_admin)).status_code == 404


def test_the_province_admin_lists_users_of_the_whole_province(client, personas):
    client.force_login(personas.province_admin)
    response = client.get(changelist(User))
    usernames = {u.username for u in response.context["cl"].result_list}
    assert {"prov_admin", "bdl_operator", "lamsel_operator"} <= usernames


def test_a_regency_admin_creates_an_operator_through_the_service(client, personas):
    client.force_login(personas.bdl_admin)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "bdl_operator2",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "office": personas.bdl_office.pk,
            "role": Role.OPERATOR,
            "first_name": "Rudi",
            "last_name": "",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="bdl_operator2")
    assert (user.office, user.role, user.is_staff) == (personas.bdl_office, Role.OPERATOR, True)
    assert user.check_password(PASSWORD)
    entry = AuditEntry.objects.get(action="user.create", object_id=str(user.pk))
    assert entry.actor == personas.bdl_admin


def test_a_regency_admin_cannot_create_a_user_in_another_office(client, personas):
    client.force_login(personas.bdl_admin)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "penyusup",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "office": personas.lamsel_office.pk,
            "role": Role.OPERATOR,
        },
    )
    assert response.status_code == 200
    assert "office" in response.context["adminform"].form.errors
    assert not User.objects.filter(username="penyusup").exists()


def test_a_role_must_fit_the_office(client, personas):
    client.force_login(personas.bdl_admin)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "calon_admin_prov",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "office": personas.bdl_office.pk,
            "role": Role.PROVINCE_ADMIN,
        },
    )
    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors


def test_a_regency_admin_cannot_make_anyone_a_superuser(client, personas):
    op = personas.bdl_operator
    client.force_login(personas.bdl_admin)
    response = client.post(
        change(op),
        {
            "username": op.username,
            "office": personas.bdl_office.pk,
            "role": Role.SUPERVISOR,
            "is_active": "on",
            "is_superuser": "on",
            "first_name": "",
            "last_name": "",
            "email": "",
        },
    )
    assert response.status_code == 302
    op.refresh_from_db()
    assert (op.role, op.is_superuser) == (Role.SUPERVISOR, False)
    entry = AuditEntry.objects.get(action="user.update", object_id=str(op.pk))
    assert entry.changes == {"role": [Role.OPERATOR, Role.SUPERVISOR]}


def test_a_password_set_by_an_admin_is_audited_without_the_password(client, personas):
    op = personas.bdl_operator
    client.force_login(personas.bdl_admin)
    url = reverse("admin:auth_user_password_change", args=[op.pk])
    new = "sandi-baru-yang-panjang-7"
    response = client.post(url, {"password1": new, "password2": new})
    assert response.status_code == 302
    op.refresh_from_db()
    assert op.check_password(new)
    entry = AuditEntry.objects.get(action="user.set_password", object_id=str(op.pk))
    assert entry.actor == personas.bdl_admin
    assert new not in str(entry.changes)


def test_a_regency_admin_cannot_set_the_password_of_another_office(client, personas):
    other = personas.lamsel_operator
    client.force_login(personas.bdl_admin)
    url = reverse("admin:auth_user_password_change", args=[other.pk])
    response = client.post(url, {"password1": "x-y-z-12345678", "password2": "x-y-z-12345678"})
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.check_password(PASSWORD)


def test_an_operator_cannot_manage_users(client, personas):
    client.force_login(personas.bdl_operator)
    assert client.get(changelist(User)).status_code == 403
    assert client.get(change(personas.bdl_queue)).status_code == 403


# Offices, service points, elections, regions, audit


def test_the_admin_index_shows_an_operator_only_what_the_role_allows(client, personas):
    client.force_login(personas.bdl_operator)
    response = client.get(reverse("admin:index"))
    models = {m["object_name"] for app in response.context["app_list"] for m in app["models"]}
    assert "Resident" in models
    assert not models & {"User", "Office", "AuditEntry", "ImportBatch"}


def test_a_regency_admin_sees_only_their_own_office(client, personas):
    client.force_login(personas.bdl_admin)
    response = client.get(changelist(type(personas.bdl_office)))
    assert list(response.context["cl"].result_list) == [personas.bdl_office]
    assert client.get(change(personas.lamsel_office)).status_code == 404


def test_service_points_are_scoped_to_the_office(client, personas):
    ServicePoint.objects.create(
        office=personas.lamsel_office, kind="office", code="1801-KANTOR", name="Kantor Lamsel"
    )
    mine = ServicePoint.objects.create(
        office=personas.bdl_office, kind="office", code="1871-KANTOR", name="Kantor BDL"
    )
    client.force_login(personas.bdl_admin)
    response = client.get(changelist(ServicePoint))
    assert list(response.context["cl"].result_list) == [mine]


def test_a_regency_admin_cannot_put_a_service_point_in_another_office(client, personas):
    client.force_login(personas.bdl_admin)
    response = client.post(
        reverse("admin:servicepoints_servicepoint_add"),
        {
            "office": personas.lamsel_office.pk,
            "kind": "upt",
            "code": "1801-UPT",
            "name": "UPT",
            "counters": 1,
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert not ServicePoint.objects.filter(code="1801-UPT").exists()


def make_election():
    election = Election.objects.create(
        name="Pilkada 2020",
        slug="pilkada-2020",
        polling_day=date(2020, 12, 9),
        suket_issue_until=date(2020, 12, 9),
        suket_valid_until=date(2020, 12, 31),
    )
    ElectionRegion.objects.create(election=election, region_id="18.71")
    return election


def test_only_the_province_admin_changes_an_election(client, personas):
    election = make_election()
    client.force_login(personas.bdl_admin)
    assert client.get(change(election)).status_code == 200  # view only
    assert client.post(change(election), {"name": "Diubah"}).status_code == 403
    client.force_login(personas.province_admin)
    assert client.get(reverse("admin:elections_election_add")).status_code == 200


def election_form(**extra):
    data = {
        "name": "Pilkada Serentak 2024",
        "slug": "pilkada-2024",
        "polling_day": "2024-11-27",
        "polls_close": "13:00",
        "suket_issue_until": "2024-11-27",
        "suket_valid_until": "2024-12-31",
        "region_rows-TOTAL_FORMS": "1",
        "region_rows-INITIAL_FORMS": "0",
        "region_rows-MIN_NUM_FORMS": "1",
        "region_rows-MAX_NUM_FORMS": "1000",
        "region_rows-0-region": "18.71",
        "region_rows-0-dpt": "600000",
    }
    data.update(extra)
    return data


def test_the_province_admin_creates_an_election_and_it_is_audited(client, personas):
    client.force_login(personas.province_admin)
    response = client.post(reverse("admin:elections_election_add"), election_form())
    assert response.status_code == 302
    election = Election.objects.get(slug="pilkada-2024")
    assert list(election.regions.values_list("code", flat=True)) == ["18.71"]
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"election.create", "electionregion.create"} <= actions


def test_an_election_needs_a_region(client, personas):
    client.force_login(personas.province_admin)
    data = election_form(**{"region_rows-TOTAL_FORMS": "0"})
    response = client.post(reverse("admin:elections_election_add"), data)
    assert response.status_code == 200
    assert not Election.objects.exists()


def test_a_regency_admin_cannot_create_an_election(client, personas):
    client.force_login(personas.bdl_admin)
    response = client.post(reverse("admin:elections_election_add"), election_form())
    assert response.status_code == 403
    assert not Election.objects.exists()


def test_regions_are_read_only(client, personas):
    client.force_login(personas.province_admin)
    region = type(personas.bdl_office.region).objects.get(code="18.71")
    assert client.get(change(region)).status_code == 200
    response = client.post(change(region), {"name": "Diubah"})
    assert response.status_code == 403
    region.refresh_from_db()
    assert region.name != "Diubah"


def test_a_regency_admin_sees_only_regions_of_their_regency(client, personas):
    client.force_login(personas.bdl_admin)
    response = client.get(changelist(type(personas.bdl_office.region)), {"level": "regency"})
    assert [r.code for r in response.context["cl"].result_list] == ["18.71"]


def test_audit_entries_are_scoped_and_read_only(client, personas):
    mine = make_resident(BDL_VILLAGE, occupation="Petani")
    theirs = make_resident(LAMSEL_VILLAGE, occupation="Petani")
    resident_update(resident=mine, acting_user=personas.bdl_operator, occupation="Guru")
    resident_update(resident=theirs, acting_user=personas.lamsel_operator, occupation="Guru")
    client.force_login(personas.bdl_admin)
    response = client.get(changelist(AuditEntry), {"action": "resident.update"})
    assert [e.object_id for e in response.context["cl"].result_list] == [str(mine.pk)]
    other = AuditEntry.objects.get(action="resident.update", object_id=str(theirs.pk))
    assert client.get(change(other)).status_code == 404
    entry = AuditEntry.objects.get(action="resident.update", object_id=str(mine.pk))
    assert client.post(change(entry), {"reason": "dihapus"}).status_code == 403


def another_province_village() -> str:
    """A village of Bengkulu (17): a second province in the database."""
    province = Region.objects.create(code="17", level=Level.PROVINCE, name="Bengkulu")
    regency = Region.objects.create(
        code="17.71", level=Level.REGENCY, parent=province, name="Bengkulu", kind="kota"
    )
    district = Region.objects.create(
        code="17.71.01", level=Level.DISTRICT, parent=regency, name="Selebar"
    )
    Region.objects.create(
        code="17.71.01.1001",
        level=Level.VILLAGE,
        parent=district,
        name="Pagar Dewa",
        kind="kelurahan",
    )
    return "17.71.01.1001"


def test_the_province_admin_reads_audit_entries_and_record_events_unfiltered(client, personas):
    bdl, lamsel = make_resident(BDL_VILLAGE), make_resident(LAMSEL_VILLAGE)
    root = User.objects.create_superuser(username="root", password=PASSWORD)  # of no office
    for r in (bdl, lamsel):
        resident_update(resident=r, acting_user=root, occupation="Guru")
        record_move(resident=r, to_state=KtpState.BIO_CAPTURED, acting_user=root)
    client.force_login(personas.province_admin)
    for model, query, listed in (
        (AuditEntry, {"action": "resident.update"}, lambda e: e.object_id),
        (RecordEvent, {}, lambda e: str(e.resident_id)),
    ):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(changelist(model), query)
        assert {listed(e) for e in response.context["cl"].result_list} == {
            str(bdl.pk),
            str(lamsel.pk),
        }
        # With no other province loaded every resident is the province's: no list of them.
        assert not [q for q in queries if "residents_resident" in q["sql"] and "COUNT" in q["sql"]]


def test_the_province_admin_does_not_see_another_provinces_residents(client, personas):
    ours = make_resident(BDL_VILLAGE)
    theirs = make_resident(another_province_village())
    root = User.objects.create_superuser(username="root", password=PASSWORD)  # of no office
    for r in (ours, theirs):
        resident_update(resident=r, acting_user=root, occupation="Guru")
        record_move(resident=r, to_state=KtpState.BIO_CAPTURED, acting_user=root)
    client.force_login(personas.province_admin)
    response = client.get(changelist(AuditEntry), {"action": "resident.update"})
    assert [e.object_id for e in response.context["cl"].result_list] == [str(ours.pk)]
    response = client.get(changelist(RecordEvent))
    assert [e.resident for e in response.context["cl"].result_list] == [ours]
    # A superuser sees both.
    client.force_login(root)
    response = client.get(changelist(RecordEvent))
    assert {e.resident for e in response.context["cl"].result_list} == {ours, theirs}

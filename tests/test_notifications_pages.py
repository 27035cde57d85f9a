"""Staff pages: sent messages (only the user's jurisdiction), previews, letter batches."""

import pytest

from rekam.notifications.models import LetterBatch, State
from rekam.notifications.services import message_send
from rekam.notifications.texts import families, family

from .conftest import PASSWORD
from .factories import make_resident
from .fakes.helpers import make_worker

BDL_VILLAGE = "18.71.01.1003"
LAMSEL_VILLAGE = "18.01.04.2001"
CARD = {"name": "x", "place": "Kantor Kecamatan", "office": "Disdukcapil"}


@pytest.fixture(autouse=True)
def demo_outbox(settings, tmp_path):
    settings.NOTIFICATIONS_BACKEND = "file"
    settings.NOTIFICATIONS_OUTBOX_DIR = tmp_path / "outbox"
    settings.NOTIFICATIONS_LETTER_DIR = tmp_path / "letters"


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def send(resident, key, channels=("sms",)):
    data = dict(CARD, name=resident.name)
    return message_send(
        recipient=resident,
        template="card_printed",
        data=data,
        idempotency_key=key,
        channels=list(channels),
    )


@pytest.fixture
def two_regencies(personas):
    own = send(make_resident(BDL_VILLAGE, name="Warga Bandar", phone="+6281200000001"), "p1")
    other = send(make_resident(LAMSEL_VILLAGE, name="Warga Natar", phone="+6281200000002"), "p2")
    make_worker().run(once=True)
    return own, other


def test_the_sent_messages_page_shows_only_the_users_regency(client, personas, two_regencies):
    response = login(client, personas.bdl_operator).get("/pesan/")
    assert response.status_code == 200
    assert "Warga Bandar" in response.text
    assert "Warga Natar" not in response.text


def test_the_province_sees_the_messages_of_every_regency(client, personas, two_regencies):
    response = login(client, personas.province_admin).get("/pesan/")
    assert "Warga Bandar" in response.text
    assert "Warga Natar" in response.text


def test_the_province_filters_the_messages_by_regency(client, personas, two_regencies):
    page = login(client, personas.province_admin).get("/pesan/", {"regency": "18.01"})
    assert "Warga Natar" in page.text
    assert "Warga Bandar" not in page.text
    assert [r.code for r in page.context["regencies"]][:2] == ["18.01", "18.02"]


def test_a_regency_has_no_regency_choice_and_cannot_widen_its_view(client, personas, two_regencies):
    page = login(client, personas.bdl_operator).get("/pesan/", {"regency": "18.01"})
    assert page.context["regencies"] == []
    assert "Warga Bandar" in page.text
    assert "Warga Natar" not in page.text


def test_the_page_warns_when_messages_wait_for_a_worker_that_does_not_run(client, personas):
    from datetime import timedelta

    from django.utils import timezone

    from rekam.notifications.models import Message

    fresh = send(make_resident(BDL_VILLAGE, name="Warga Baru", phone="+6281200000003"), "s1")
    page = login(client, personas.bdl_operator).get("/pesan/")
    assert page.context["stuck"] == 0
    earlier = timezone.now() - timedelta(minutes=11)
    Message.objects.filter(pk=fresh.pk).update(created_at=earlier, next_attempt_at=earlier)
    page = client.get("/pesan/")
    assert page.context["stuck"] == 1
    # An operator cannot see to the worker: they are told whom to ask; the admin what to check.
    assert "rekam send_messages" not in page.text and "admin kantor" in page.text
    client.logout()
    page = login(client, personas.bdl_admin).get("/pesan/")
    assert page.context["stuck"] == 1 and "rekam send_messages" in page.text


def test_a_message_outside_the_jurisdiction_is_not_found(client, personas, two_regencies):
    _, other = two_regencies
    response = login(client, personas.bdl_operator).get(f"/pesan/{other.pk}/")
    assert response.status_code == 404


def test_the_message_page_shows_what_was_written_to_the_demo_file(client, personas, two_regencies):
    own, _ = two_regencies
    response = login(client, personas.bdl_operator).get(f"/pesan/{own.pk}/")
    assert response.status_code == 200
    assert "Kepada: Warga Bandar &lt;+6281200000001&gt;" in response.text
    assert "KTP-el a.n. Warga Bandar sudah dicetak" in response.text


def test_the_list_filters_by_state(client, personas, two_regencies):
    response = login(client, personas.province_admin).get("/pesan/", {"state": State.FAILED})
    assert "Warga Bandar" not in response.text


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    response = client.get("/pesan/")
    assert response.status_code == 302
    assert "/masuk/" in response["Location"]


@pytest.mark.parametrize("language", ["id", "en"])
def test_staff_can_preview_every_message_type_with_sample_data(client, personas, language):
    login(client, personas.bdl_queue)
    for fam in families():
        response = client.get(f"/pesan/templat/{fam.name}/", {"lang": language})
        assert response.status_code == 200, fam.name
        assert str(fam.sample["name" if "name" in fam.sample else "text"]) in response.text


def test_the_template_list_names_every_message_type(client, personas):
    response = login(client, personas.bdl_queue).get("/pesan/templat/")
    for fam in families():
        assert fam.name in response.text


def test_an_unknown_message_type_has_no_preview(client, personas):
    response = login(client, personas.bdl_queue).get("/pesan/templat/tidak_ada/")
    assert response.status_code == 404


def test_the_letters_page_makes_and_prints_a_batch(client, personas):
    message = send(make_resident(BDL_VILLAGE, name="Tanpa Telepon"), "p3", channels=("letter",))
    make_worker().run(once=True)
    login(client, personas.bdl_operator)
    page = client.get("/pesan/surat/")
    assert BDL_VILLAGE in page.text
    client.post("/pesan/surat/", {"action": "create", "village": BDL_VILLAGE})
    batch = LetterBatch.objects.get()
    pdf = client.get(f"/pesan/surat/{batch.pk}/pdf/")
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    client.post("/pesan/surat/", {"action": "printed", "batch": batch.pk})
    message.refresh_from_db()
    assert message.state == State.SENT


def test_another_regency_cannot_print_the_batch(client, personas):
    send(make_resident(BDL_VILLAGE, name="Tanpa Telepon"), "p4", channels=("letter",))
    make_worker().run(once=True)
    login(client, personas.lamsel_operator)
    response = client.post(
        "/pesan/surat/", {"action": "create", "village": BDL_VILLAGE}, follow=True
    )
    assert not LetterBatch.objects.exists()
    assert "di luar wilayah kerja" in response.text


def test_the_list_names_message_types_as_people_say_them(client, personas, two_regencies):
    response = login(client, personas.bdl_operator).get("/pesan/")
    title = family("card_printed").title("id")
    assert f"<td>{title}</td>" in response.text
    assert "<td>card_printed</td>" not in response.text


def test_the_message_page_shows_the_fallback_order_by_channel_name(client, personas):
    message = send(
        make_resident(BDL_VILLAGE, name="Tanpa Telepon"), "p5", channels=("sms", "email", "letter")
    )
    response = login(client, personas.bdl_operator).get(f"/pesan/{message.pk}/")
    assert "SMS → Surel → Surat" in response.text

"""The outbox: one function to send, written in the caller's transaction, sent after commit."""

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from rekam.notifications import services
from rekam.notifications.models import Channel, Message, State
from rekam.notifications.services import (
    Outgoing,
    contact_create,
    message_send,
    message_send_many,
)
from rekam.notifications.texts import UnknownTemplate

from .factories import make_resident
from .fakes.helpers import make_worker

SUKET_DATA = {
    "name": "Siti Aminah",
    "suket_number": "474.4/0001/2020",
    "valid_until": "2020-12-31",
    "office": "Disdukcapil Kota Bandar Lampung",
}
CARD_DATA = {"name": "Siti Aminah", "place": "Kantor Kecamatan Kedaton", "office": "Disdukcapil"}


@pytest.fixture(autouse=True)
def demo_outbox(settings, tmp_path):
    settings.NOTIFICATIONS_BACKEND = "file"
    settings.NOTIFICATIONS_OUTBOX_DIR = tmp_path / "outbox"
    settings.NOTIFICATIONS_LETTER_DIR = tmp_path / "letters"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def resident(lampung):
    return make_resident(phone="+6281234567890", whatsapp_consent=True)


def test_it_writes_the_message_in_the_callers_transaction(resident):
    with pytest.raises(RuntimeError), transaction.atomic():
        message_send(
            recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="k1"
        )
        raise RuntimeError("the change that caused the message fails")
    assert not Message.objects.filter(idempotency_key="k1").exists()


def test_it_sends_only_after_the_transaction_commits(resident, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = message_send(
            recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="k2"
        )
    message.refresh_from_db()
    assert message.state == State.QUEUED
    assert len(callbacks) == 1
    callbacks[0]()
    message.refresh_from_db()
    assert message.state == State.SENT
    assert message.channel == Channel.WHATSAPP


def test_it_does_not_hand_messages_over_on_commit_when_told_not_to(
    resident, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_SEND_ON_COMMIT = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message_send(
            recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="k3"
        )
    assert callbacks == []
    assert Message.objects.get(idempotency_key="k3").state == State.QUEUED


def test_it_returns_the_first_message_for_a_repeated_idempotency_key(resident):
    first = message_send(
        recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="k4"
    )
    again = message_send(
        recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="k4"
    )
    assert again.pk == first.pk
    assert Message.objects.filter(idempotency_key="k4").count() == 1


def test_it_refuses_an_unknown_message_type(resident):
    with pytest.raises(UnknownTemplate):
        message_send(recipient=resident, template="nope", data={}, idempotency_key="k5")


def test_it_refuses_a_message_missing_a_field(resident):
    with pytest.raises(ValueError, match="suket_number"):
        message_send(
            recipient=resident,
            template="suket_issued",
            data={"name": "X", "valid_until": "2020-12-31", "office": "Y"},
            idempotency_key="k6",
        )


def test_it_follows_the_default_fallback_order_from_settings(resident, settings):
    settings.NOTIFICATIONS_DEFAULT_CHANNELS = "sms,letter"
    message = message_send(
        recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="k7"
    )
    assert message.channels == ["sms", "letter"]
    assert message.channel == "sms"


def test_it_stores_the_residents_phone_in_e164(lampung):
    resident = make_resident(phone="0812-3456-7890")
    message = message_send(
        recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="k8"
    )
    assert message.phone == "+6281234567890"


def test_it_writes_demo_messages_to_files(resident, settings):
    message = message_send(
        recipient=resident,
        template="suket_issued",
        data=SUKET_DATA,
        idempotency_key="k9",
        channels=["sms"],
    )
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.state == State.SENT
    path = settings.NOTIFICATIONS_OUTBOX_DIR / message.provider_message_id.removeprefix("file:")
    text = path.read_text()
    assert "+6281234567890" in text
    assert "474.4/0001/2020" in text
    assert "31 Desember 2020" in text


def card_for(resident, key, **fields):
    return Outgoing(
        recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key=key, **fields
    )


def test_many_messages_go_in_with_one_insert_and_one_address_lookup(lampung):
    people = [make_resident(name=f"Warga {n}", phone=f"0812-3456-780{n}") for n in range(3)]
    contact_create(name="Anak Warga 1", email="anak1@contoh.id", resident=people[1])
    with CaptureQueriesContext(connection) as queries:
        messages = message_send_many(card_for(p, f"many-{n}") for n, p in enumerate(people))
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 2  # the contacts' e-mail addresses, then one INSERT
    assert [m.idempotency_key for m in messages] == ["many-0", "many-1", "many-2"]
    stored = {
        m.idempotency_key: m for m in Message.objects.filter(idempotency_key__startswith="many-")
    }
    assert {k: (m.pk, m.phone, m.email) for k, m in stored.items()} == {
        "many-0": (messages[0].pk, "+6281234567800", ""),
        "many-1": (messages[1].pk, "+6281234567801", "anak1@contoh.id"),
        "many-2": (messages[2].pk, "+6281234567802", ""),
    }
    assert all(
        m.state == State.QUEUED and m.channels == ["whatsapp", "sms", "email", "letter"]
        for m in stored.values()
    )


def test_a_key_already_in_the_outbox_or_given_twice_stands_for_its_first_message(resident):
    first = message_send(
        recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="old"
    )
    other = make_resident(name="Budi")
    messages = message_send_many(
        [card_for(other, "old"), card_for(other, "new"), card_for(resident, "new")]
    )
    assert [m.pk for m in messages] == [first.pk, messages[1].pk, messages[1].pk]
    assert messages[0].resident == resident  # the first message, not a second one to Budi
    assert Message.objects.filter(idempotency_key__in=["old", "new"]).count() == 2
    assert Message.objects.get(idempotency_key="new").resident == other


def test_only_new_messages_are_handed_over_after_the_commit(
    resident, django_capture_on_commit_callbacks
):
    message_send(recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="a")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message_send_many([card_for(resident, "a"), card_for(resident, "b")])
    assert len(callbacks) == 1


def test_a_batch_with_one_bad_message_writes_nothing(resident):
    bad = Outgoing(
        recipient=resident, template="suket_issued", data={"name": "X"}, idempotency_key="bad"
    )
    with pytest.raises(ValueError, match="suket_number"):
        message_send_many([card_for(resident, "good"), bad])
    assert not Message.objects.filter(idempotency_key__in=["good", "bad"]).exists()


def test_a_key_that_names_another_message_type_is_refused(resident):
    message_send(recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="t")
    with pytest.raises(ValueError, match="already names"):
        message_send_many(
            [
                Outgoing(
                    recipient=resident,
                    template="suket_issued",
                    data=SUKET_DATA,
                    idempotency_key="t",
                )
            ]
        )
    assert Message.objects.get(idempotency_key="t").template == "card_printed"


def test_one_message_costs_the_address_lookup_and_one_insert(resident):
    with CaptureQueriesContext(connection) as queries:
        message_send(
            recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="one"
        )
    assert len(queries) == 2
    contact = contact_create(name="Keluarga", phone="+6281111111111")
    with CaptureQueriesContext(connection) as queries:
        message_send(
            recipient=contact, template="card_printed", data=CARD_DATA, idempotency_key="two"
        )
    assert len(queries) == 1


def test_a_batch_longer_than_one_statement_goes_in_whole(resident, monkeypatch):
    monkeypatch.setattr(services, "_INSERT_ROWS", 2)
    with CaptureQueriesContext(connection) as queries:
        messages = message_send_many(card_for(resident, f"long-{n}") for n in range(5))
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    # PostgreSQL takes any number of rows in one statement; SQLite two rows at a time here.
    assert len(inserts) == (1 if connection.vendor == "postgresql" else 3)
    stored = dict(
        Message.objects.filter(idempotency_key__startswith="long-").values_list(
            "idempotency_key", "pk"
        )
    )
    assert stored == {m.idempotency_key: m.pk for m in messages}
    assert len(set(stored.values())) == 5


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_refused_batch_leaves_nothing_behind(resident):
    message_send(recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="x1")
    clash = Outgoing(
        recipient=resident, template="suket_issued", data=SUKET_DATA, idempotency_key="x1"
    )
    with pytest.raises(ValueError, match="already names"):
        message_send_many([card_for(resident, "x2"), clash])
    assert list(Message.objects.values_list("idempotency_key", flat=True)) == ["x1"]


def test_inside_a_transaction_a_refused_batch_takes_its_new_rows_back(
    resident, django_capture_on_commit_callbacks
):
    message_send(recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="y1")
    clash = Outgoing(
        recipient=resident, template="suket_issued", data=SUKET_DATA, idempotency_key="y1"
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        with pytest.raises(ValueError, match="already names"):
            message_send_many([card_for(resident, "y2"), card_for(resident, "y3"), clash])
        # The caller's transaction goes on, without the refused batch.
        message_send(
            recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="y4"
        )
    assert sorted(Message.objects.values_list("idempotency_key", flat=True)) == ["y1", "y4"]
    assert len(callbacks) == 1  # y4: nothing of the refused batch is handed over


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not check lengths")
def test_a_value_too_long_for_its_column_is_refused_not_cut(resident):
    now = services.timezone.now()
    messages = [services._message(card_for(resident, f"cut-{n}"), None, now) for n in range(2)]
    longest = Message._meta.get_field("attachment_name").max_length or 0
    messages[1].attachment_name = "x" * (longest + 1)
    with pytest.raises(DataError), transaction.atomic():
        services._insert_new(messages, "default")

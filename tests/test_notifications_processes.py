"""Several ``rekam send_messages`` processes on one outbox, and one of them killed mid-batch.

The workers are real processes. On SQLite the in-memory test database is copied to a file they
open (and copied back afterwards); on PostgreSQL they open the test database itself.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection

from rekam.notifications.models import Attempt, Channel, Message, State
from rekam.notifications.services import consent_record, contact_create, message_send

from .fakes import FakeSmsGateway, FakeWhatsApp
from .fakes.helpers import as_environment, notification_values, use_fakes

pytestmark = pytest.mark.django_db(transaction=True)

CARD = {"name": "Warga", "place": "Kantor Kecamatan Kedaton", "office": "Disdukcapil"}


class SharedDatabase:
    """The test database, reachable from other processes."""

    def __init__(self, folder: Path) -> None:
        self.sqlite = connection.vendor == "sqlite"
        self.path = folder / "workers.sqlite3"

    @property
    def url(self) -> str:
        if self.sqlite:
            return f"sqlite:///{self.path}"
        s = connection.settings_dict
        auth = quote(s["USER"] or "postgres") + (
            ":" + quote(s["PASSWORD"]) if s["PASSWORD"] else ""
        )
        return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"

    def push(self) -> None:
        if self.sqlite:
            connection.ensure_connection()
            target = sqlite3.connect(self.path)
            connection.connection.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
            target.close()

    def pull(self) -> None:
        if self.sqlite:
            source = sqlite3.connect(self.path)
            source.backup(connection.connection)
            source.close()

    def claimed_by(self, key: str) -> str:
        sql = "SELECT claimed_by FROM notifications_message WHERE idempotency_key = "
        if self.sqlite:
            with sqlite3.connect(self.path, timeout=10) as db:
                return db.execute(sql + "?", [key]).fetchone()[0]
        with connection.cursor() as cursor:
            cursor.execute(sql + "%s", [key])
            return cursor.fetchone()[0]


def start_worker(db: SharedDatabase, data_dir: Path, values: dict, worker_id: str):
    env = dict(os.environ)
    env |= as_environment(values)
    env |= {
        "DATABASE_URL": db.url,
        "REKAM_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "rekam.settings",
        "NOTIFICATIONS_SEND_ON_COMMIT": "0",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rekam",
            "send_messages",
            "--until-done",
            "--max-seconds",
            "25",
            "--worker-id",
            worker_id,
        ],
        cwd=django_settings.BASE_DIR.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process, timeout: float = 30) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-2000:]
    return out


def queue(count: int, channel: str, *, opt_in: bool) -> list[str]:
    keys = []
    for n in range(count):
        contact = contact_create(name=f"Warga {n}", phone=f"+62812{n:08d}")
        if opt_in:
            consent_record(contact=contact, channel=channel, granted=True, source="uji")
        key = f"batch-{n}"
        message_send(
            recipient=contact,
            template="card_printed",
            data=CARD,
            idempotency_key=key,
            channels=[channel],
        )
        keys.append(key)
    return keys


def test_two_worker_processes_send_every_message_exactly_once(settings, tmp_path):
    with FakeWhatsApp(delay=0.01) as wa:
        use_fakes(settings, tmp_path, whatsapp=wa)
        settings.NOTIFICATIONS_SEND_ON_COMMIT = False
        keys = queue(40, Channel.WHATSAPP, opt_in=True)
        db = SharedDatabase(tmp_path)
        db.push()
        values = notification_values(tmp_path, whatsapp=wa, timeout_ms=5000)
        workers = [start_worker(db, tmp_path, values, name) for name in ("A", "B")]
        outputs = [finish(w) for w in workers]
        db.pull()

    assert wa.keys_sent() == Counter({key: 1 for key in keys})
    assert len(wa.requests) == len(keys)  # no message was even handed over twice
    assert set(Message.objects.values_list("state", flat=True)) == {State.SENT}
    by_worker = Counter(Attempt.objects.filter(outcome="sent").values_list("worker", flat=True))
    assert sum(by_worker.values()) == len(keys)
    assert by_worker["A"] > 0 and by_worker["B"] > 0, outputs


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(settings, tmp_path):
    with FakeSmsGateway(delay=0.02) as sms:
        use_fakes(settings, tmp_path, sms=sms)
        settings.NOTIFICATIONS_SEND_ON_COMMIT = False
        keys = queue(20, Channel.SMS, opt_in=False)
        db = SharedDatabase(tmp_path)
        db.push()
        values = notification_values(tmp_path, sms=sms, timeout_ms=1500)
        values["NOTIFICATIONS_LEASE_SECONDS"] = 2
        # The tenth SMS is accepted by the gateway, but its worker never hears back.
        sms.push(*["ok"] * 9, "accept-hang")
        workers = {name: start_worker(db, tmp_path, values, name) for name in ("A", "B")}
        assert sms.hang_started.wait(20), "no worker reached the tenth message"
        [hung] = sms.hung
        key = hung.headers["idempotency-key"]
        victim = db.claimed_by(key)
        workers[victim].send_signal(signal.SIGKILL)
        workers[victim].wait(10)
        sms.release()
        survivor = "B" if victim == "A" else "A"
        started = time.monotonic()
        finish(workers[survivor])
        db.pull()

    # Every message reached the gateway's phones exactly once...
    assert sms.keys_sent() == Counter({k: 1 for k in keys})
    # ...although the killed worker's message was handed over a second time, with its key.
    assert sms.duplicates == Counter({key: 1})
    assert set(Message.objects.values_list("state", flat=True)) == {State.SENT}
    message = Message.objects.get(idempotency_key=key)
    outcomes = list(message.attempt_log.values_list("worker", "outcome"))
    assert outcomes == [(victim, Attempt.Outcome.LOST), (survivor, Attempt.Outcome.SENT)]
    for other in Message.objects.exclude(pk=message.pk):
        assert list(other.attempt_log.values_list("outcome", flat=True)) == ["sent"]
    assert time.monotonic() - started < 20

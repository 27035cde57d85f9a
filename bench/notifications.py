"""Benchmark: messages one outbox worker hands to the WhatsApp Cloud API per second.

The provider is the fake Cloud API from the tests (``tests/fakes``), in its own process on
127.0.0.1. The baseline is a bare httpx loop posting the same template message to the same fake
server in the same run; the result is the worker's rate and its ratio to that baseline. The
worker claims each message, renders it, posts it and records the attempt, as in production;
the provider rate limit is off (it would cap the rate at its setting).

    .venv/bin/python -m bench.notifications [--messages N] [--rounds R] [--database-url URL]

Without ``--database-url`` the worker uses a fresh SQLite file (the embedded default); with a
PostgreSQL URL it uses that database (migrated, and its outbox emptied first).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

PROJECT_DIR = Path(__file__).resolve().parent.parent
PHONE_NUMBER_ID = "1098765"
TOKEN = "fake-token"
API_VERSION = "v23.0"
CARD = {"name": "Warga", "place": "Kantor Kecamatan Kedaton", "office": "Disdukcapil"}


def start_fake() -> tuple[subprocess.Popen[str], str]:
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes", "whatsapp"],
        cwd=PROJECT_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fake.stdout is not None
    port = fake.stdout.readline().split()[1]
    return fake, f"http://127.0.0.1:{port}"


def fake_sent(base_url: str) -> int:
    return int(httpx.get(f"{base_url}/__fake/stats").json()["sent"])


def bare_loop(base_url: str, count: int) -> float:
    """Messages per second of a plain httpx loop: the most a Python client gets from this server."""
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "6281200000001",
        "biz_opaque_callback_data": "bench",
        "type": "template",
        "template": {
            "name": "rekam_ktp_tercetak",
            "language": {"code": "id"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Warga"},
                        {"type": "text", "text": "Kantor Kecamatan Kedaton"},
                    ],
                }
            ],
        },
    }
    with httpx.Client(
        base_url=f"{base_url}/{API_VERSION}/{PHONE_NUMBER_ID}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        for _ in range(min(50, count)):  # warm the connection
            client.post("/messages", json=body).raise_for_status()
        started = time.perf_counter()
        for _ in range(count):
            client.post("/messages", json=body).raise_for_status()
        return count / (time.perf_counter() - started)


def worker_env(base_url: str, data_dir: Path, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env |= {
        "DJANGO_SETTINGS_MODULE": "rekam.settings",
        "DATABASE_URL": database_url or f"sqlite:///{data_dir / 'bench.sqlite3'}",
        "REKAM_DATA_DIR": str(data_dir),
        "NOTIFICATIONS_BACKEND": "live",
        "NOTIFICATIONS_SEND_ON_COMMIT": "0",
        "NOTIFICATIONS_WHATSAPP_BASE_URL": base_url,
        "NOTIFICATIONS_WHATSAPP_API_VERSION": API_VERSION,
        "NOTIFICATIONS_WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "NOTIFICATIONS_WHATSAPP_TOKEN": TOKEN,
        "NOTIFICATIONS_WHATSAPP_RATE": "0",
        "NOTIFICATIONS_WORKER_BATCH": "50",
        "NOTIFICATIONS_WORKER_POLL_MS": "20",
    }
    return env


def child(count: int) -> dict[str, Any]:
    """In a fresh process configured by :func:`worker_env`: queue ``count`` messages, then time
    one worker sending them all."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from rekam.notifications.models import Consent, Contact, Message
    from rekam.notifications.services import consent_record, contact_create, message_send
    from rekam.notifications.worker import Worker

    call_command("migrate", verbosity=0)
    Message.objects.all().delete()
    Consent.objects.filter(contact__isnull=False).delete()
    Contact.objects.filter(resident__isnull=True).delete()
    with transaction.atomic():
        for n in range(count):
            contact = contact_create(name=f"Warga {n}", phone=f"+62812{n:08d}")
            consent_record(contact=contact, channel="whatsapp", granted=True, source="bench")
            message_send(
                recipient=contact,
                template="card_printed",
                data=CARD,
                idempotency_key=f"bench-{n}",
                channels=["whatsapp"],
            )
    base_url = os.environ["NOTIFICATIONS_WHATSAPP_BASE_URL"]
    # The baseline runs in this process just before and after the worker, so both see the
    # same load on the machine.
    before = bare_loop(base_url, count // 2)
    handed_before = fake_sent(base_url)
    worker = Worker(worker_id="bench")
    started = time.perf_counter()
    stats = worker.run(until_done=True, max_seconds=600)
    seconds = time.perf_counter() - started
    worker.close()
    handed_over = fake_sent(base_url) - handed_before
    after = bare_loop(base_url, count // 2)
    from django.db import connection

    return {
        "sent": stats.outcomes.get("sent", 0),
        "handed_over": handed_over,
        "seconds": seconds,
        "baseline": (before + after) / 2,
        "database": connection.vendor,
    }


def measure_worker(base_url: str, count: int, database_url: str, data_dir: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.notifications", "--child", "--messages", str(count)],
        cwd=PROJECT_DIR,
        env=worker_env(base_url, data_dir, database_url),
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notifications")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.messages)))
        return 0

    workers: list[dict[str, Any]] = []
    fake, base_url = start_fake()
    try:
        with tempfile.TemporaryDirectory(prefix="rekam-bench-") as tmp:
            for _ in range(max(1, args.rounds)):
                workers.append(
                    measure_worker(base_url, args.messages, args.database_url, Path(tmp))
                )
    finally:
        assert fake.stdin is not None
        fake.stdin.close()
        fake.wait(10)
    rates = [w["sent"] / w["seconds"] for w in workers]
    baselines = [w["baseline"] for w in workers]
    baseline, rate = statistics.median(baselines), statistics.median(rates)
    print(
        f"Notifications: one worker handing {args.messages} WhatsApp template messages to the "
        f"fake Cloud API, {len(workers)} rounds, database {workers[0]['database']}"
    )
    print(f"  bare httpx loop (baseline): {baseline:7.0f} msg/s  ratio 1.00")
    print(f"  outbox worker             : {rate:7.0f} msg/s  ratio {rate / baseline:.2f}")
    for n, (b, r) in enumerate(zip(baselines, rates, strict=True), 1):
        print(f"    round {n}: baseline {b:.0f}/s, worker {r:.0f}/s, ratio {r / b:.2f}")
    exact = all(w["sent"] == w["handed_over"] == args.messages for w in workers)
    if not exact:
        print("  the worker did not hand over every message exactly once", file=sys.stderr)
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

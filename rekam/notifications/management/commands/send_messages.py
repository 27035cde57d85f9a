"""``rekam send_messages``: the outbox worker (run one or more, on any machines)."""

from __future__ import annotations

import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from rekam.notifications.worker import Worker


class Command(BaseCommand):
    help = "Send queued messages (WhatsApp, SMS, e-mail, letters) from the outbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Send what is due now, then stop.")
        parser.add_argument(
            "--until-done",
            action="store_true",
            help="Stop when nothing is left to send (retries waiting for their time count).",
        )
        parser.add_argument(
            "--max-seconds",
            type=float,
            default=settings.NOTIFICATIONS_WORKER_MAX_SECONDS,
            help="Stop after this many seconds (the service manager starts it again).",
        )
        parser.add_argument("--max-messages", type=int, default=None)
        parser.add_argument("--worker-id", default="", help="Name in claims and attempts.")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = Worker(worker_id=options["worker_id"] or None)

        def stop(signum: int, frame: Any) -> None:
            # Finish the message in hand, then leave: nothing is half-recorded.
            worker.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            stats = worker.run(
                once=options["once"],
                until_done=options["until_done"],
                max_seconds=options["max_seconds"],
                max_messages=options["max_messages"],
            )
        finally:
            worker.close()
        self.stdout.write(f"{worker.worker_id}: {stats.summary()}")

"""The outbox worker: claims due messages and takes each through its channels.

Claiming is a conditional UPDATE on the row's ``version``: of two workers that read the same row,
exactly one changes it, so a message is never in two workers' hands. The claim is a lease; a
message whose worker died (killed, machine lost) is claimed again when its lease has passed,
and the unknown outcome is recorded as a ``lost`` attempt. The retry carries the same
idempotency key, so a provider that honours it does not send twice.

Temporary failures (timeouts, 429, 5xx) are retried with exponential backoff and jitter, up to
``NOTIFICATIONS_MAX_ATTEMPTS`` per channel; permanent ones (4xx), a missing consent or an
unusable channel move the message to the next channel of its fallback order.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import consent
from .channels import ChannelImpl, Outcome, Result, channels_from_settings
from .models import Attempt, Channel, Message, State

log = logging.getLogger(__name__)

RATE_LIMITED = "Batas kecepatan penyedia tercapai."


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{random.randrange(16**4):04x}"


def backoff_seconds(
    attempt: int, *, base: float, cap: float, rng: random.Random, retry_after: float | None = None
) -> float:
    """Delay before try ``attempt + 1``: doubling from ``base`` up to ``cap``, then jittered
    into its upper half so workers that failed together do not retry together."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    delay = delay / 2 + rng.uniform(0, delay / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


@dataclass
class WorkerConfig:
    lease: timedelta
    batch: int
    max_attempts: int
    backoff_base: float
    backoff_cap: float
    poll: float

    @classmethod
    def from_settings(cls) -> WorkerConfig:
        return cls(
            lease=timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS),
            batch=max(1, settings.NOTIFICATIONS_WORKER_BATCH),
            max_attempts=max(1, settings.NOTIFICATIONS_MAX_ATTEMPTS),
            backoff_base=settings.NOTIFICATIONS_BACKOFF_BASE_MS / 1000,
            backoff_cap=settings.NOTIFICATIONS_BACKOFF_MAX_MS / 1000,
            poll=max(0.01, settings.NOTIFICATIONS_WORKER_POLL_MS / 1000),
        )


@dataclass
class RunStats:
    claimed: int = 0
    lost_claims: int = 0  # rows another worker claimed first
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def summary(self) -> str:
        parts = [f"{k}={v}" for k, v in sorted(self.outcomes.items())]
        return f"claimed={self.claimed} " + " ".join(parts)


class Worker:
    def __init__(
        self,
        *,
        worker_id: str | None = None,
        channels: Mapping[str, ChannelImpl] | None = None,
        config: WorkerConfig | None = None,
        clock: Callable[[], datetime] = timezone.now,
        rng: random.Random | None = None,
        limiter: Any = None,
    ) -> None:
        from .ratelimit import RateLimiter

        self.worker_id = (worker_id or default_worker_id())[:80]
        self.channels = dict(channels) if channels is not None else channels_from_settings()
        self.config = config or WorkerConfig.from_settings()
        self.clock = clock
        self.rng = rng or random.Random()
        self.limiter = limiter or RateLimiter()
        self.stopping = False
        self.stats = RunStats()

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()

    # Finding and claiming work

    def due(
        self, *, limit: int, now: datetime | None = None, ids: Iterable[int] = ()
    ) -> list[Message]:
        now = now or self.clock()
        ready = Q(state=State.QUEUED, next_attempt_at__lte=now) | Q(
            state=State.SENDING, lease_until__lt=now
        )
        rows = Message.objects.filter(ready).select_related("resident", "contact")
        ids = list(ids)
        if ids:
            rows = rows.filter(pk__in=ids)
        found = list(rows.order_by("next_attempt_at", "id")[:limit])
        # Workers reading the same batch start at different rows, so they rarely collide.
        self.rng.shuffle(found)
        return found

    def pending(self) -> bool:
        """Is anything still to be sent by a worker (now or later)?"""
        return Message.objects.filter(
            Q(state=State.QUEUED, next_attempt_at__isnull=False) | Q(state=State.SENDING)
        ).exists()

    def claim(self, message: Message) -> tuple[bool, bool]:
        """Take ``message``: ``(taken, reclaimed)``; ``reclaimed`` when it was taken from a
        worker that died holding it (recorded as a ``lost`` attempt in the same transaction,
        so the count of tries survives however many workers die)."""
        now = self.clock()
        lease_until = now + self.config.lease
        reclaimed = message.state == State.SENDING
        fields: dict[str, Any] = {
            "state": State.SENDING,
            "claimed_by": self.worker_id,
            "claimed_at": now,
            "lease_until": lease_until,
            "version": F("version") + 1,
        }
        if reclaimed:
            fields["attempts"] = F("attempts") + 1
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # A claim lost in a database crash leaves the message as if never claimed: it is
                # sent again with the same key, exactly as after the lease of a dead worker. So
                # the claim need not wait for the WAL flush; the record of the send (in
                # ``_finish``) does, and flushing it flushes the claim before it.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            taken = Message.objects.filter(pk=message.pk, version=message.version).update(**fields)
            if taken == 1 and reclaimed:
                Attempt.objects.create(
                    message=message,
                    channel=message.channel,
                    number=message.attempts + 1,
                    started_at=message.claimed_at or now,
                    finished_at=now,
                    worker=message.claimed_by,
                    outcome=Outcome.LOST,
                    detail=(
                        f"Pekerja {message.claimed_by} berhenti sebelum hasilnya diketahui; "
                        "dikirim ulang dengan kunci yang sama."
                    ),
                )
        if taken != 1:
            self.stats.lost_claims += 1
            return False, False
        if reclaimed:
            message.attempts += 1
        message.state = State.SENDING
        message.claimed_by = self.worker_id
        message.claimed_at = now
        message.lease_until = lease_until
        message.version += 1
        self.stats.claimed += 1
        return True, reclaimed

    # Sending one message

    def _try_channel(self, message: Message, name: str, consents: Mapping[Any, Any]) -> Result:
        refusal = consent.refusal(message, name, consents)
        if refusal:
            return Result(Outcome.REFUSED, refusal)
        impl = self.channels.get(name)
        if impl is None:
            return Result(Outcome.SKIPPED, f"Saluran {name} tidak tersedia.")
        problem = impl.unusable(message)
        if problem:
            return Result(Outcome.SKIPPED, problem)
        if not self.limiter.acquire(name, impl.rate):
            return Result(Outcome.TEMPORARY, RATE_LIMITED)
        try:
            return impl.send(message)
        except Exception as exc:  # a bug in one channel must not stop the whole outbox
            log.exception("channel %s failed on message %s", name, message.pk)
            return Result(Outcome.TEMPORARY, f"Kesalahan internal: {type(exc).__name__}: {exc}")

    def process(
        self, message: Message, *, reclaimed: bool = False, consents: Mapping[Any, Any]
    ) -> str:
        """Take a claimed message as far as it goes now; returns the last outcome."""
        attempts: list[Attempt] = []
        reasons = [message.failure_reason] if message.failure_reason else []
        update: dict[str, Any] = {}
        # A message whose workers keep dying while sending it (a crash, not a provider error)
        # must not take every worker down in turn: after the last try it moves on.
        crashed = reclaimed and message.attempts >= self.config.max_attempts
        while True:
            name = message.channels[message.channel_index]
            started = self.clock()
            if crashed:
                result = Result(
                    Outcome.PERMANENT, "pekerja berhenti setiap kali mengirim pesan ini"
                )
                crashed = False
            else:
                result = self._try_channel(message, name, consents)
            now = self.clock()
            # Refusals, unusable channels, a letter waiting for its batch and waiting for the
            # rate limit are not tries.
            counts = result.outcome not in (Outcome.REFUSED, Outcome.SKIPPED, Outcome.HELD) and (
                result.detail != RATE_LIMITED
            )
            number = message.attempts + 1 if counts else message.attempts
            attempts.append(
                Attempt(
                    message=message,
                    channel=name,
                    number=number,
                    started_at=started,
                    finished_at=now,
                    worker=self.worker_id,
                    outcome=result.outcome,
                    status_code=result.status_code,
                    detail=result.detail[:500],
                    provider_message_id=result.provider_message_id,
                )
            )
            if result.media_id:
                update["media_id"] = message.media_id = result.media_id
            message.attempts = number
            outcome = result.outcome
            if outcome == Outcome.SENT:
                update |= {
                    "state": State.SENT,
                    "sent_at": now,
                    "provider_message_id": result.provider_message_id,
                    "next_attempt_at": None,
                }
                break
            if outcome == Outcome.HELD:
                update |= {"state": State.QUEUED, "next_attempt_at": None}
                break
            if outcome == Outcome.TEMPORARY and not counts:  # waiting for the rate limit
                update |= {"state": State.QUEUED, "next_attempt_at": now + timedelta(seconds=1)}
                break
            if outcome == Outcome.TEMPORARY and message.attempts < self.config.max_attempts:
                delay = backoff_seconds(
                    message.attempts,
                    base=self.config.backoff_base,
                    cap=self.config.backoff_cap,
                    rng=self.rng,
                    retry_after=result.retry_after,
                )
                update |= {
                    "state": State.QUEUED,
                    "next_attempt_at": now + timedelta(seconds=delay),
                }
                break
            detail = result.detail
            if outcome == Outcome.TEMPORARY:
                outcome = Outcome.PERMANENT
                detail = f"gagal {message.attempts} kali, terakhir: {detail}"
            reasons.append(f"{Channel(name).label}: {detail}")
            if message.channel_index + 1 < len(message.channels):
                message.channel_index += 1
                message.channel = message.channels[message.channel_index]
                message.attempts = 0
                continue
            update |= {"state": State.FAILED, "failed_at": now, "next_attempt_at": None}
            break
        update |= {
            "channel_index": message.channel_index,
            "channel": message.channel,
            "attempts": message.attempts,
            "failure_reason": " | ".join(reasons)[-1000:],
            "lease_until": None,
        }
        self._finish(message, update, attempts)
        self.stats.count(result.outcome)
        return result.outcome

    def _finish(self, message: Message, update: dict[str, Any], attempts: list[Attempt]) -> None:
        with transaction.atomic():
            saved = Message.objects.filter(pk=message.pk, version=message.version).update(
                version=F("version") + 1, **update
            )
            Attempt.objects.bulk_create(attempts)
        if saved != 1:
            # A status webhook settled the message while we held it (see whatsapp.py):
            # what we did is in the attempts; the row keeps what the webhook wrote.
            log.warning("message %s changed while worker %s held it", message.pk, self.worker_id)
            return
        for key, value in update.items():
            setattr(message, key, value)
        message.version += 1

    def handle(self, batch: list[Message]) -> int:
        """Claim and process what can be claimed of ``batch``; returns how many were handled."""
        consents = consent.consents_for(batch)
        handled = 0
        for message in batch:
            if self.stopping:
                break
            taken, reclaimed = self.claim(message)
            if not taken:
                continue
            self.process(message, reclaimed=reclaimed, consents=consents)
            handled += 1
        return handled

    # Loops

    def run(
        self,
        *,
        once: bool = False,
        until_done: bool = False,
        max_seconds: float = 3600,
        max_messages: int | None = None,
    ) -> RunStats:
        """Send until told to stop, ``max_seconds`` have passed or ``max_messages`` were handled.

        ``once``: what is due now, then return. ``until_done``: return when nothing is left to
        send (retries waiting for their time still count as something).
        """
        deadline = time.monotonic() + max_seconds
        cutoff = self.clock() if once else None
        handled = 0
        while not self.stopping and time.monotonic() < deadline:
            limit = self.config.batch
            if max_messages is not None:
                limit = min(limit, max_messages - handled)
                if limit <= 0:
                    break
            try:
                batch = self.due(limit=limit, now=cutoff)
                if batch:
                    handled += self.handle(batch)
                    continue
                if once or (until_done and not self.pending()):
                    break
            except DatabaseError:
                # The database went away or stayed locked: what was claimed is claimed again
                # after its lease; try again after a pause on a fresh connection.
                log.exception("worker %s: database error", self.worker_id)
                close_old_connections()
                connection.close()
            time.sleep(max(0.0, min(self.config.poll, deadline - time.monotonic())))
        return self.stats


def message_deliver(*, message_id: int, worker_id: str = "") -> str:
    """Send one message now if it is due and nobody holds it (the on-commit path)."""
    worker = Worker(worker_id=worker_id or f"commit:{default_worker_id()}")
    try:
        batch = worker.due(limit=1, ids=[message_id])
        if not batch:
            return "not-due"
        if not worker.handle(batch):
            return "claimed-elsewhere"
        return next(iter(worker.stats.outcomes))
    finally:
        worker.close()

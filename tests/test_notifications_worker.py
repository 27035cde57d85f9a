"""The worker's claims, leases and rate limits (one process; see test_notifications_processes
for several)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from rekam.notifications.models import Attempt, Message, RateWindow, State
from rekam.notifications.ratelimit import RateLimiter
from rekam.notifications.services import message_send

from .factories import make_resident
from .fakes import FakeSmsGateway
from .fakes.helpers import later, make_worker, use_fakes

CARD = {"name": "Budi", "place": "Kantor Kecamatan Kedaton", "office": "Disdukcapil"}


@pytest.fixture
def sms():
    with FakeSmsGateway() as fake:
        yield fake


@pytest.fixture
def live(settings, tmp_path, sms):
    use_fakes(settings, tmp_path, sms=sms)
    return settings


@pytest.fixture
def resident(lampung):
    return make_resident(phone="+6281298765432")


def send(resident, key="w1"):
    return message_send(
        recipient=resident,
        template="card_printed",
        data=CARD,
        idempotency_key=key,
        channels=["sms"],
    )


def test_of_two_workers_reading_the_same_row_only_one_claims_it(live, resident):
    send(resident)
    first, second = make_worker("a"), make_worker("b")
    [seen_by_first] = first.due(limit=5)
    [seen_by_second] = second.due(limit=5)
    assert first.claim(seen_by_first)[0] is True
    assert second.claim(seen_by_second)[0] is False
    assert Message.objects.get().claimed_by == "a"


def test_a_claimed_message_is_not_due_while_its_lease_runs(live, resident):
    send(resident)
    worker = make_worker("a")
    [message] = worker.due(limit=5)
    worker.claim(message)
    assert make_worker("b").due(limit=5) == []
    assert make_worker("b", clock=later(60)).due(limit=5) == []


def test_a_message_whose_worker_died_is_claimed_again_after_the_lease(live, sms, resident):
    send(resident)
    dead = make_worker("dead")
    [message] = dead.due(limit=5)
    dead.claim(message)  # ...and the process is killed before it sends or records anything
    lease = live.NOTIFICATIONS_LEASE_SECONDS
    make_worker("b", clock=later(lease + 1)).run(once=True)
    message.refresh_from_db()
    assert message.state == State.SENT
    lost, sent = message.attempt_log.all()
    assert (lost.outcome, lost.worker) == (Attempt.Outcome.LOST, "dead")
    assert (sent.outcome, sent.worker) == (Attempt.Outcome.SENT, "b")
    assert len(sms.sent) == 1


def test_once_sends_only_what_is_due_now(live, sms, resident):
    send(resident, "w1")
    later_one = send(resident, "w2")
    Message.objects.filter(pk=later_one.pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    stats = make_worker().run(once=True)
    assert stats.outcomes == {"sent": 1}
    assert [m["key"] for m in sms.sent] == ["w1"]


def test_until_done_waits_for_retries_and_returns_when_nothing_is_left(live, sms, resident):
    message = send(resident)
    sms.push("500", "500")
    make_worker().run(until_done=True, max_seconds=10)
    message.refresh_from_db()
    assert message.state == State.SENT
    assert message.attempts == 3


def test_max_messages_bounds_a_run(live, sms, resident):
    for n in range(3):
        send(resident, f"w{n}")
    stats = make_worker().run(max_messages=2, max_seconds=5)
    assert stats.claimed == 2
    assert len(sms.sent) == 2


def test_the_rate_limit_is_shared_by_every_worker(live, db):
    now = [1_000_000.5]
    waits: list[float] = []
    a = RateLimiter(clock=lambda: now[0], sleep=waits.append)
    b = RateLimiter(clock=lambda: now[0], sleep=waits.append)
    granted = sum(limiter.acquire("sms", 4) for limiter in (a, b, a, b, a))
    assert granted == 4  # the fifth waits for the next second (here: the fake clock never moves)
    assert RateWindow.objects.get(channel="sms", second=1_000_000).used == 4
    assert waits


def test_the_rate_limit_lets_more_through_in_the_next_second(live, db):
    now = [2_000_000.0]
    limiter = RateLimiter(clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for _ in range(6):
        assert limiter.acquire("whatsapp", 3)
    assert int(now[0]) == 2_000_001


def test_the_send_messages_command_sends_what_is_due(live, sms, resident, capsys):
    send(resident)
    call_command("send_messages", "--once", "--worker-id", "cmd")
    assert "cmd: claimed=1 sent=1" in capsys.readouterr().out
    assert Message.objects.get().state == State.SENT


def test_a_message_that_kills_every_worker_moves_on_after_the_last_try(live, sms, resident):
    message = message_send(
        recipient=resident,
        template="card_printed",
        data=CARD,
        idempotency_key="poison",
        channels=["sms", "letter"],
    )
    for n in range(live.NOTIFICATIONS_MAX_ATTEMPTS):
        worker = make_worker(f"dead-{n}", clock=later(n * (live.NOTIFICATIONS_LEASE_SECONDS + 1)))
        [row] = worker.due(limit=1)
        assert worker.claim(row)[0]  # ...and each worker dies with it
    lease = live.NOTIFICATIONS_LEASE_SECONDS + 1
    make_worker("b", clock=later(live.NOTIFICATIONS_MAX_ATTEMPTS * lease)).run(once=True)
    message.refresh_from_db()
    assert sms.requests == []
    assert message.channel == "letter"
    assert "pekerja berhenti setiap kali" in message.failure_reason


def test_a_message_waiting_for_the_rate_limit_is_put_back_without_counting_a_try(
    live, sms, resident
):
    live.NOTIFICATIONS_SMS_RATE = 1
    now = 3_000_000.0
    RateWindow.objects.create(channel="sms", second=int(now), used=1)  # another worker's
    message = send(resident)
    frozen = RateLimiter(clock=lambda: now, sleep=lambda seconds: None)
    make_worker(limiter=frozen).run(once=True)
    message.refresh_from_db()
    assert sms.requests == []
    assert (message.state, message.attempts, message.channel) == (State.QUEUED, 0, "sms")
    assert message.next_attempt_at > timezone.now()

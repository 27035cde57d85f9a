"""Each provider's rate limit, shared by every worker on every machine through the database.

A window row per channel and second counts the messages handed over; a worker reserves a few
at a time with a conditional UPDATE (never past the limit) and spends them locally, so the
limit holds across processes at the cost of one write per handful of messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import F

from .models import RateWindow

# Seconds (windows) a worker waits for room before it gives the message back for later.
MAX_WAIT_WINDOWS = 30


class RateLimiter:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self._local: dict[str, tuple[int, int]] = {}  # channel -> (second, tokens left)
        self._last_cleanup = 0

    def acquire(self, channel: str, rate: int) -> bool:
        """Wait for room to hand one message to ``channel``'s provider; ``False`` if none came."""
        if rate <= 0:
            return True
        for _ in range(MAX_WAIT_WINDOWS + 1):
            second = int(self.clock())
            held_second, left = self._local.get(channel, (0, 0))
            if held_second == second and left > 0:
                self._local[channel] = (second, left - 1)
                return True
            got = self._reserve(channel, second, rate)
            if got:
                self._local[channel] = (second, got - 1)
                self._cleanup(second)
                return True
            self.sleep(max(0.001, second + 1 - self.clock()))
        return False

    def _reserve(self, channel: str, second: int, rate: int) -> int:
        for want in sorted({max(1, rate // 10), 1}, reverse=True):
            for _ in range(2):  # once more if another worker created the window meanwhile
                updated = RateWindow.objects.filter(
                    channel=channel, second=second, used__lte=rate - want
                ).update(used=F("used") + want)
                if updated:
                    return want
                if RateWindow.objects.filter(channel=channel, second=second).exists():
                    break
                try:
                    with transaction.atomic():
                        RateWindow.objects.create(channel=channel, second=second, used=want)
                    return want
                except IntegrityError:
                    continue
        return 0

    def _cleanup(self, second: int) -> None:
        if second - self._last_cleanup >= 60:
            self._last_cleanup = second
            RateWindow.objects.filter(second__lt=second - 120).delete()

"""Fixed-window request limits shared by every web process.

With ``REDIS_URL`` (production) a hit is one pipelined ``INCR`` + ``EXPIRE`` on that Redis, the
server behind Django's cache, through one client per thread: Django's Redis cache makes a new
client object for every call and asks ``EXISTS`` before ``INCR``, which cost a quarter of an
online booking's CPU. Without it (the embedded default) the count lives in Django's cache (the
database cache), read and written back, so two processes hitting the same key in the same
instant may both pass: a limit against guessing and flooding, not an exact quota.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_local = threading.local()


def _redis(url: str) -> Any:
    """This thread's client (threaded servers: a client and its connection per thread)."""
    client = getattr(_local, "client", None)
    if client is None or getattr(_local, "url", None) != url:
        import redis

        client = redis.Redis.from_url(url)
        _local.client, _local.url = client, url
    return client


def allow(key: str, *, limit: int, seconds: int) -> bool:
    """Count one hit on ``key``; ``False`` once it had ``limit`` hits in this window."""
    if limit <= 0:
        return True
    window = int(time.time()) // seconds
    # Keyed hash: keys carry NIKs, which must not sit in the cache in the clear.
    secret = settings.SECRET_KEY.encode()[:64]
    digest = hashlib.blake2b(key.encode(), key=secret, digest_size=12).hexdigest()
    name = f"antrean:rl:{digest}:{window}"
    if settings.REDIS_URL:
        pipe = _redis(settings.REDIS_URL).pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, seconds + 1)
        count = int(pipe.execute()[0])
        return count <= limit
    try:
        count = cache.incr(name)
    except ValueError:
        # Another process may have created it in between: then count on it.
        count = 1 if cache.add(name, 1, timeout=seconds + 1) else cache.incr(name)
    return count <= limit


def client_ip(request: HttpRequest) -> str:
    """The caller's address: ``REMOTE_ADDR``, or the header a trusted proxy sets."""
    header = settings.ANTREAN_CLIENT_IP_HEADER
    if header:
        forwarded = request.META.get(header, "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return str(request.META.get("REMOTE_ADDR", ""))

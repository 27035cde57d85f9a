"""Fixed-window request limits per client address, in Django's cache (shared by every process).

With ``REDIS_URL`` a hit is one pipelined ``INCR`` + ``EXPIRE`` on that Redis through one client
per thread (Django's Redis cache makes a new client object per call and asks ``EXISTS`` first,
which cost a quarter of an online booking's CPU); on the embedded default
(the database cache) two processes hitting the same key in the same instant may both pass: a
limit against guessing and flooding, not an exact quota. (``rekam.notifications.ratelimit`` is
the other kind: it paces our own sending to a provider, not requests made to us.)

Use :func:`limit_per_ip` on a view, or :func:`allow` with a key of your own (e.g. per NIK).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render

_local = threading.local()


def _redis(url: str) -> Any:
    """This thread's client (threaded servers: a client and its connection per thread)."""
    client = getattr(_local, "client", None)
    if client is None or getattr(_local, "url", None) != url:
        import redis

        client = redis.Redis.from_url(url)
        _local.client, _local.url = client, url
    return client


TOO_MANY = "Terlalu banyak permintaan dari alamat Anda. Tunggu sebentar, lalu coba lagi."


def _counter(key: str, seconds: int) -> str:
    """The cache key counting ``key``'s hits in the current window of ``seconds``."""
    window = int(time.time()) // seconds
    # Keyed hash: keys may carry addresses or NIKs, which should not sit in the cache in clear.
    secret = str(settings.SECRET_KEY).encode()[:64]
    digest = hashlib.blake2b(key.encode(), key=secret, digest_size=12).hexdigest()
    return f"rl:{digest}:{window}"


def window_end(seconds: int) -> int:
    """When the current window of ``seconds`` ends (seconds since the epoch): a key refused now
    is allowed again from then on (windows are fixed, so it may be sooner than ``seconds``)."""
    return (int(time.time()) // seconds + 1) * seconds


def seconds_left(seconds: int) -> int:
    """How long until the current window of ``seconds`` ends."""
    return window_end(seconds) - int(time.time())


def allow(key: str, *, limit: int, seconds: int) -> bool:
    """Count one hit on ``key``; ``False`` once it had ``limit`` hits in this window."""
    if limit <= 0:
        return True
    name = _counter(key, seconds)
    if settings.REDIS_URL:
        pipe = _redis(settings.REDIS_URL).pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, seconds + 1)
        return int(pipe.execute()[0]) <= limit
    try:
        count = cache.incr(name)
    except ValueError:
        # Another process may have created it in between: then count on it.
        count = 1 if cache.add(name, 1, timeout=seconds + 1) else cache.incr(name)
    return count <= limit


def exhausted(key: str, *, limit: int, seconds: int) -> bool:
    """Whether ``key`` already had ``limit`` hits in this window, counting none (for limits
    that count only failures: the failure is then counted with :func:`allow`)."""
    if limit <= 0:
        return False
    name = _counter(key, seconds)
    count = _redis(settings.REDIS_URL).get(name) if settings.REDIS_URL else cache.get(name)
    return int(count or 0) >= limit


def client_ip(request: HttpRequest) -> str:
    """The caller's address: ``REMOTE_ADDR``, or the header a trusted proxy sets.

    In a list such as ``X-Forwarded-For`` the last entry is the one the trusted proxy added;
    the entries before it are whatever the client sent, so they are never believed.
    """
    header = settings.CLIENT_IP_HEADER
    if header:
        forwarded = str(request.META.get(header, ""))
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def too_many(request: HttpRequest, *, seconds: int, as_json: bool = False) -> HttpResponse:
    """The 429 answer, in Indonesian, with ``Retry-After``."""
    response: HttpResponse
    if as_json:
        response = JsonResponse({"error": TOO_MANY}, status=429)
    else:
        response = render(request, "web/too_many.html", {"message": TOO_MANY}, status=429)
    response["Retry-After"] = str(seconds)
    return response


View = Callable[..., HttpResponseBase]


def limit_per_ip(
    scope: str,
    *,
    setting: str,
    seconds: int = 60,
    methods: Iterable[str] = ("POST",),
    as_json: bool = False,
) -> Callable[[View], View]:
    """Allow at most ``settings.<setting>`` requests per client address and ``seconds`` to the
    decorated view (for the listed methods); others get :func:`too_many`."""
    limited = frozenset(m.upper() for m in methods)

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method in limited:
                limit = int(getattr(settings, setting))
                if not allow(f"{scope}:{client_ip(request)}", limit=limit, seconds=seconds):
                    return too_many(request, seconds=seconds, as_json=as_json)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate

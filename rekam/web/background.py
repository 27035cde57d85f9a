"""Starting background work from a page: the browser goes to the progress page at once.

With a task backend that runs tasks in the enqueuing process (``ImmediateBackend``, the
embedded default), enqueuing inside the request would hold the page until the work is done;
the work is then started in a thread of its own once the redirect has been sent. Not in the
request's thread after the response: a browser that keeps the connection alive sends the
progress page's request on it, and would wait there until the work ended
(``BACKGROUND_IN_THREAD=0`` runs it there all the same, as the tests do, to see its results at
once). With a real task queue it is enqueued as usual.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import connections
from django.http import HttpResponse, HttpResponseRedirect
from django.tasks import task_backends
from django.tasks.backends.immediate import ImmediateBackend

logger = logging.getLogger(__name__)


def runs_in_request() -> bool:
    """Whether the configured backend runs a task in the process that enqueues it."""
    return isinstance(task_backends[settings.VOTERS_TASK_BACKEND], ImmediateBackend)


class RedirectThenRun(HttpResponseRedirect):
    """A redirect that runs ``after`` once it has been sent and closed: the browser is
    already on the progress page while a run in this process goes on."""

    def __init__(self, url: str, after: Callable[[], object]) -> None:
        super().__init__(url)
        self._after = after

    def close(self) -> None:
        try:
            super().close()
        finally:
            if settings.BACKGROUND_IN_THREAD:
                start_in_thread(self._after)
            else:
                self._after()


def start_in_thread(work: Callable[[], object]) -> threading.Thread:
    """Run ``work`` in a thread of its own, with its own database connections, closed at the
    end. Its failures are the work's to record (each run keeps its status and error)."""

    def run() -> None:
        try:
            work()
        except Exception:
            # The run's own row keeps its failure; the log keeps the trace for the admin.
            logger.exception("background work failed")
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="rekam-background", daemon=True)
    thread.start()
    return thread


def redirect_then_start(url: str, start: Callable[[], object]) -> HttpResponse:
    """Redirect to ``url`` (a progress page) and have ``start`` enqueue the work: after the
    response when tasks run in this process, else now."""
    if runs_in_request():
        return RedirectThenRun(url, start)
    start()
    return HttpResponseRedirect(url)

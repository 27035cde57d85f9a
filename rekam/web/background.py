"""Starting background work from a page: the browser goes to the progress page at once.

With a task backend that runs tasks in the enqueuing process (``ImmediateBackend``, the
embedded default), enqueuing inside the request would hold the page until the work is done;
the work is then started once the redirect has been sent instead. With a real task queue it is
enqueued as usual.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.tasks import task_backends
from django.tasks.backends.immediate import ImmediateBackend


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
            self._after()


def redirect_then_start(url: str, start: Callable[[], object]) -> HttpResponse:
    """Redirect to ``url`` (a progress page) and have ``start`` enqueue the work: after the
    response when tasks run in this process, else now."""
    if runs_in_request():
        return RedirectThenRun(url, start)
    start()
    return HttpResponseRedirect(url)

"""Work a page starts with the in-process task backend runs beside the request, not in it."""

import threading
import time

import pytest

from rekam.regions.models import Region
from rekam.web.background import RedirectThenRun


@pytest.mark.django_db(transaction=True)
def test_work_started_after_a_redirect_runs_in_a_thread_of_its_own(settings):
    settings.BACKGROUND_IN_THREAD = True
    release, done = threading.Event(), threading.Event()
    seen: list[int] = []

    def work() -> None:
        release.wait(10)
        seen.append(Region.objects.count())  # through the thread's own connection
        done.set()

    response = RedirectThenRun("/kemajuan/", work)
    started = time.monotonic()
    response.close()
    # The request's thread is free at once (a kept-alive connection's next request, the
    # progress page, is not held), while the work waits.
    assert time.monotonic() - started < 2 and not done.is_set()
    release.set()
    assert done.wait(10)
    assert seen == [Region.objects.count()]


@pytest.mark.django_db
def test_with_threads_off_the_work_runs_when_the_response_closes(settings):
    settings.BACKGROUND_IN_THREAD = False
    ran: list[str] = []
    RedirectThenRun("/kemajuan/", lambda: ran.append("done")).close()
    assert ran == ["done"]

"""Background tasks (``django.tasks``): a reconciliation started from the web."""

from __future__ import annotations

from django.conf import settings
from django.tasks import task

from .models import ReconciliationRun
from .reconcile import ReconcileRefused, reconciliation_run


@task(backend=settings.VOTERS_TASK_BACKEND)
def reconcile_election(run_id: int) -> str:
    run = ReconciliationRun.objects.select_related("election", "acting_user").get(pk=run_id)
    try:
        reconciliation_run(run=run)
    except ReconcileRefused as exc:  # already carried out (a task delivered twice)
        return exc.message
    return run.status

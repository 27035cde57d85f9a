"""Background task (``django.tasks``): an invitation plan started from the planning page."""

from __future__ import annotations

from django.conf import settings
from django.tasks import task

from .models import PlanRun
from .services import plan_run_execute


@task(backend=settings.VOTERS_TASK_BACKEND)
def plan_invitations(run_id: int) -> str:
    run = PlanRun.objects.select_related("election", "created_by").get(pk=run_id)
    if run.status != PlanRun.Status.QUEUED:
        return run.status  # delivered twice
    plan_run_execute(run=run, acting_user=run.created_by)
    return PlanRun.Status.DONE

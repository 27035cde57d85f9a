"""Background tasks (``django.tasks``): an invitation plan started from the planning page, the
sending of one once approved, and a follow-up started from the follow-up page."""

from __future__ import annotations

from django.conf import settings
from django.tasks import task

from .followup_runs import follow_up_run_execute
from .models import FollowUpRun, PlanRun
from .services import plan_run_execute, plan_run_send


@task(backend=settings.VOTERS_TASK_BACKEND)
def plan_invitations(run_id: int) -> str:
    run = PlanRun.objects.select_related("election", "created_by").get(pk=run_id)
    if run.status != PlanRun.Status.QUEUED:
        return run.status  # delivered twice
    return plan_run_execute(run=run, acting_user=run.created_by).status


@task(backend=settings.VOTERS_TASK_BACKEND)
def send_invitations(run_id: int) -> str:
    run = PlanRun.objects.select_related("election", "approved_by").get(pk=run_id)
    # Only an approved run is sent; a second delivery finds it sending or sent and stops.
    return plan_run_send(run=run).status


@task(backend=settings.VOTERS_TASK_BACKEND)
def follow_up_invitations(run_id: int) -> str:
    run = FollowUpRun.objects.select_related("election", "created_by").get(pk=run_id)
    # Only a queued run is carried out; a second delivery finds it running or finished.
    return follow_up_run_execute(run=run).status

"""The follow-up started from its page: :func:`follow_up_run_create` queues a
:class:`~rekam.invitations.models.FollowUpRun`, the background task
(``tasks.follow_up_invitations``) carries it out with :func:`follow_up_run_execute`, which
writes its progress for the progress page as each chunk of invitations is done."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.audit.services import audit_record
from rekam.elections.models import Election

from .invites import FOLLOW_UP_STEPS, FollowUp, invitations_follow_up
from .models import FollowUpRun
from .services import plan_jurisdiction, regions_overlap

log = logging.getLogger(__name__)

# The part of the progress bar each step fills (percent from, to): settling the sessions that
# are over, with its re-invitations, takes nearly all of the time.
STEP_SPANS: dict[str, tuple[int, int]] = {
    "settle": (0, 80),
    "ahead": (80, 85),
    "closed": (85, 98),
    "release": (98, 100),
}
ACTIVE = (FollowUpRun.Status.QUEUED, FollowUpRun.Status.RUNNING)
# A run that has not reported progress for this long is taken to have died (the process that
# ran it stopped: a restart or a deploy); it no longer holds off another start.
STALE_AFTER = timedelta(minutes=30)


class FollowUpRefused(Exception):
    """A follow-up that cannot start now; the message is for the person, in Indonesian."""


def follow_up_jurisdiction(run: FollowUpRun) -> str:
    """The region a run covers, for access checks (as an invitation plan's)."""
    return plan_jurisdiction(run.election, run.region_code)


class _Abandoned(Exception):
    """The run was taken for dead (:func:`follow_up_run_mark_stale`) while it worked: another
    may have started since, so it stops and leaves its record as marked."""


def _write(run: FollowUpRun, **fields: Any) -> bool:
    """Write a running run's fields; ``False`` when it is no longer running."""
    for name, value in fields.items():
        setattr(run, name, value)
    fields["updated_at"] = run.updated_at = timezone.now()
    running = FollowUpRun.objects.filter(pk=run.pk, status=FollowUpRun.Status.RUNNING)
    return bool(running.update(**fields))


def follow_up_run_mark_stale(run: FollowUpRun) -> FollowUpRun:
    """A run that stopped reporting (:data:`STALE_AFTER`) is marked failed, so that its page
    stops waiting and the follow-up can be started again."""
    if run.finished or run.updated_at > timezone.now() - STALE_AFTER:
        return run
    error = "Tindak lanjut terhenti sebelum selesai (layanan dimulai ulang?); jalankan lagi."
    marked = FollowUpRun.objects.filter(pk=run.pk, status=run.status).update(
        status=FollowUpRun.Status.FAILED, error=error, finished_at=timezone.now()
    )
    if marked:
        run.status, run.error = FollowUpRun.Status.FAILED, error
    return run


def running_follow_up(election: Election, region_code: str) -> FollowUpRun | None:
    """A run of ``election`` queued or under way whose region overlaps ``region_code``."""
    for run in FollowUpRun.objects.filter(election=election, status__in=ACTIVE).select_related(
        "created_by"
    ):
        alive = not follow_up_run_mark_stale(run).finished
        if alive and regions_overlap(run.region_code, region_code):
            return run
    return None


def follow_up_run_create(
    *, election: Election, region_code: str, acting_user: Any, public_url: str = ""
) -> FollowUpRun:
    """Queue a follow-up of ``election`` for ``region_code`` (the user's regency/city when
    empty) by ``acting_user``, who must be allowed to plan invitations there. Refused while
    another of the same election and region is queued or under way."""
    region_code = region_code or access.single_regency(acting_user) or ""
    access.require(
        acting_user, Action.PLAN_INVITATIONS, plan_jurisdiction(election, region_code) or None
    )
    with transaction.atomic():
        # Two starts at once take turns on the election's row: the second sees the first.
        Election.objects.select_for_update().filter(pk=election.pk).first()
        running = running_follow_up(election, region_code)
        if running is not None:
            who = running.created_by.get_username() if running.created_by else "sistem"
            raise FollowUpRefused(
                f"Tindak lanjut {election.name} untuk wilayah ini sedang berjalan (dimulai "
                f"pukul {timezone.localtime(running.created_at):%H.%M} oleh {who}). Tunggu "
                "sampai selesai, lalu jalankan lagi bila perlu."
            )
        run = FollowUpRun.objects.create(
            election=election,
            region_code=region_code,
            public_url=public_url,
            created_by=acting_user if getattr(acting_user, "pk", None) else None,
        )
        audit_record(
            acting_user=acting_user,
            action="invitation_follow_up_start",
            obj=run,
            changes={"region": [None, region_code]},
        )
    return run


def follow_up_run_execute(*, run: FollowUpRun) -> FollowUpRun:
    """Carry out a queued run for whoever started it, its progress written as it goes. A
    second delivery of the same task finds it no longer queued and does nothing."""
    now = timezone.now()
    claimed = FollowUpRun.objects.filter(pk=run.pk, status=FollowUpRun.Status.QUEUED).update(
        status=FollowUpRun.Status.RUNNING, started_at=now, updated_at=now
    )
    run.refresh_from_db()
    if not claimed:
        return run

    def progress(step: str, done: int, total: int) -> None:
        low, high = STEP_SPANS[step]
        share = low + (high - low) * done // max(1, total)
        if not _write(run, progress=share, step=FOLLOW_UP_STEPS[step]):
            raise _Abandoned

    try:
        done = invitations_follow_up(
            election=run.election,
            acting_user=run.created_by,
            region_code=run.region_code,
            public_url=run.public_url or None,
            on_progress=progress,
        )
    except _Abandoned:
        run.refresh_from_db()
        return run
    except PermissionDenied as exc:
        _write(
            run,
            status=FollowUpRun.Status.FAILED,
            error=str(exc)[:500],
            finished_at=timezone.now(),
        )
        return run
    except Exception:
        log.exception("follow-up run %s failed", run.pk)
        _write(
            run,
            status=FollowUpRun.Status.FAILED,
            error="Tindak lanjut gagal karena kesalahan sistem; hubungi admin sistem (rinciannya "
            "ada di log server). Menjalankannya lagi aman: undangan yang sudah diselesaikan "
            "tidak berubah.",
            finished_at=timezone.now(),
        )
        raise
    _write(
        run,
        status=FollowUpRun.Status.DONE,
        progress=100,
        step="",
        counts=asdict(done),
        finished_at=timezone.now(),
    )
    return run


def follow_up_run_summary(run: FollowUpRun) -> str:
    """A finished run's figures in one Indonesian sentence (as the command prints them)."""
    known = FollowUp.__dataclass_fields__
    return FollowUp(**{k: v for k, v in run.counts.items() if k in known}).describe()

"""Background tasks (``django.tasks``): an upload carried out by its import."""

from __future__ import annotations

from django.conf import settings
from django.tasks import task

from .models import Upload
from .services import UploadRefused, upload_run


@task(backend=settings.VOTERS_TASK_BACKEND)
def run_upload(upload_id: int) -> str:
    upload = Upload.objects.select_related("acting_user", "election").get(pk=upload_id)
    try:
        upload_run(upload=upload)
    except UploadRefused as exc:  # already carried out (a task delivered twice)
        return exc.message
    return upload.status

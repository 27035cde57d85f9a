"""Background tasks (``django.tasks``): a message is handed over as soon as its transaction
commits; the ``send_messages`` worker catches whatever this did not finish."""

from __future__ import annotations

from django.tasks import task

from .worker import message_deliver


@task
def send_message(message_id: int) -> str:
    return message_deliver(message_id=message_id)

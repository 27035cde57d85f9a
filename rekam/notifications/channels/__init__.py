"""Channels, each a small module of the same shape (see ``base.py``)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ..models import Channel
from .base import ChannelImpl, Outcome, Result
from .email import EmailChannel
from .file import FileChannel
from .letter import LetterChannel
from .sms import SmsChannel
from .whatsapp import WhatsAppChannel

__all__ = ["ChannelImpl", "Outcome", "Result", "channels_from_settings"]


def channels_from_settings() -> dict[str, ChannelImpl]:
    """The channels of ``NOTIFICATIONS_BACKEND``: files for the demo, or the real providers."""
    backend = settings.NOTIFICATIONS_BACKEND
    letters: ChannelImpl = LetterChannel()
    if backend == "file":
        return {
            Channel.WHATSAPP: FileChannel(Channel.WHATSAPP),
            Channel.SMS: FileChannel(Channel.SMS),
            Channel.EMAIL: FileChannel(Channel.EMAIL),
            Channel.LETTER: letters,
        }
    if backend == "live":
        return {
            Channel.WHATSAPP: WhatsAppChannel.from_settings(),
            Channel.SMS: SmsChannel.from_settings(),
            Channel.EMAIL: EmailChannel.from_settings(),
            Channel.LETTER: letters,
        }
    raise ImproperlyConfigured("NOTIFICATIONS_BACKEND must be 'file' or 'live'.")

"""Printed letters handed out by village officials (local practice, R7).

Sending a letter only holds it: it waits in the outbox until staff put the village's letters
into a batch and print it (``letter_batch_create`` / ``letter_batch_mark_printed``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models import Channel
from .base import Outcome, Result

if TYPE_CHECKING:
    from ..models import Message


class LetterChannel:
    name = Channel.LETTER.value
    rate = 0

    def close(self) -> None:
        pass

    def unusable(self, message: Message) -> str | None:
        if message.village_id is None:
            return "Desa/kelurahan penerima tidak diketahui, surat tidak dapat diantar."
        return None

    def send(self, message: Message) -> Result:
        return Result(Outcome.HELD, "Menunggu dicetak bersama surat desa/kelurahan lainnya.")

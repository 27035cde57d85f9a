"""Who agreed to be written to on which channel: the check the worker makes before each send.

WhatsApp needs a yes (a business may only start conversations with people who opted in; for a
resident the registry's ``whatsapp_consent`` is the record, kept in step with ``Consent`` by
``consent_record``), or a yes given for one message (``Message.consent_source``). SMS, e-mail
and letters are service notices: sent unless the person said no.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db.models import Q
from django.utils import timezone

from .models import Channel, Consent, Message

OPT_IN_CHANNELS = frozenset({Channel.WHATSAPP})

ConsentKey = tuple[str, int, str]  # ("resident" | "contact", id, channel)


def consents_for(messages: Iterable[Message]) -> dict[ConsentKey, Consent]:
    """Every consent row of the messages' recipients, in one query."""
    resident_ids = {m.resident_id for m in messages if m.resident_id}
    contact_ids = {m.contact_id for m in messages if m.contact_id}
    if not resident_ids and not contact_ids:
        return {}
    rows = Consent.objects.filter(Q(resident_id__in=resident_ids) | Q(contact_id__in=contact_ids))
    found: dict[ConsentKey, Consent] = {}
    for row in rows:
        if row.resident_id:
            found[("resident", row.resident_id, row.channel)] = row
        elif row.contact_id:
            found[("contact", row.contact_id, row.channel)] = row
    return found


def _key(message: Message, channel: str) -> ConsentKey | None:
    # A contact's own address (a family member's phone, an e-mail) carries its own consent.
    if message.contact_id:
        return ("contact", message.contact_id, channel)
    if message.resident_id:
        return ("resident", message.resident_id, channel)
    return None


def refusal(
    message: Message, channel: str, consents: Mapping[ConsentKey, Consent] | None = None
) -> str | None:
    """Why ``message`` may not go out on ``channel`` for lack of consent, or ``None``."""
    key = _key(message, channel)
    if consents is None:
        consents = consents_for([message])
    row = consents.get(key) if key else None
    label = Channel(channel).label
    if row is not None and not row.granted:
        when = timezone.localtime(row.at).strftime("%d-%m-%Y")
        return f"Penerima menolak pesan {label} ({row.source}, {when})."
    if channel in OPT_IN_CHANNELS:
        if not message.contact_id and message.resident is not None:
            # The registry's consent, or a yes given for this message alone (e.g. the box of
            # an online booking); a recorded no above still wins.
            agreed = message.resident.whatsapp_consent or bool(message.consent_source)
        else:
            agreed = row is not None and row.granted
        if not agreed:
            return f"Penerima belum menyetujui menerima pesan {label}."
    return None

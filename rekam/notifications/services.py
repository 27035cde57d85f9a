"""Every write of the notifications app: the one function other parts call to send a message,
contacts and consent, letter batches, and what WhatsApp's webhooks report."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connections, router, transaction
from django.db.models import F, Field
from django.utils import timezone

from rekam.accounts.access import Action, require
from rekam.audit.services import audit_record
from rekam.regions.models import Level, Region
from rekam.residents.models import Resident
from rekam.residents.services import resident_set_whatsapp_consent

from . import texts
from .models import (
    Attempt,
    Channel,
    Consent,
    Contact,
    InboundMessage,
    LetterBatch,
    Message,
    State,
)
from .phones import phone_e164, phone_or_blank

log = logging.getLogger(__name__)

OPT_OUT_WORDS = frozenset({"STOP", "BERHENTI"})
OPT_IN_WORDS = frozenset({"START", "MULAI"})


class NotificationRefused(Exception):
    """A request staff may not make now; ``message`` is in Indonesian."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Built once: ``Channel.values`` makes a new list (with its labels) at every use.
_CHANNELS = frozenset(Channel.values)


def channel_order(channels: Sequence[str] | None) -> list[str]:
    if channels is None:
        channels = [c.strip() for c in settings.NOTIFICATIONS_DEFAULT_CHANNELS.split(",")]
    order = [str(c) for c in channels if c]
    unknown = [c for c in order if c not in _CHANNELS]
    if not order or unknown or len(set(order)) != len(order):
        raise ValueError(f"channels must be distinct values of {Channel.values}, got {order}")
    return order


def _regency_of(village: Region | None) -> str | None:
    return village.regency_code if village is not None else None


def _dispatch(message_id: int) -> None:
    from .tasks import send_message

    try:
        send_message.enqueue(message_id)
    except Exception:  # the worker sends it anyway; a broken task backend must not lose it
        log.exception("could not hand message %s to the task backend", message_id)


@dataclass(frozen=True)
class Outgoing:
    """One message for :func:`message_send_many`: what :func:`message_send` takes."""

    recipient: Resident | Contact
    template: str
    data: Mapping[str, Any]
    idempotency_key: str
    attachment: str | Path | None = None
    channels: Sequence[str] | None = None
    language: str = "id"
    # A yes to WhatsApp for this message alone, with where it came from (``Message``).
    consent_source: str = ""


def message_send(
    *,
    recipient: Resident | Contact,
    template: str,
    data: Mapping[str, Any],
    idempotency_key: str,
    attachment: str | Path | None = None,
    channels: Sequence[str] | None = None,
    language: str = "id",
    acting_user: Any = None,
) -> Message:
    """Put a message in the outbox, in the caller's transaction; it is sent once that commits.

    ``idempotency_key`` names the message among all messages ever sent (e.g.
    ``"suket:474.4/0123/2020"``): calling again with the same key returns the first message.
    ``channels`` is the fallback order (default ``NOTIFICATIONS_DEFAULT_CHANNELS``);
    ``attachment`` a stored file (absolute, or relative to MEDIA_ROOT).
    """
    outgoing = Outgoing(
        recipient=recipient,
        template=template,
        data=data,
        idempotency_key=idempotency_key,
        attachment=attachment,
        channels=channels,
        language=language,
    )
    return message_send_many([outgoing], acting_user=acting_user)[0]


def message_send_many(outgoing: Iterable[Outgoing], *, acting_user: Any = None) -> list[Message]:
    """:func:`message_send` for many messages at once (a batch of confirmations, a village's
    invitations): the same rules, every message checked before anything is written, then one
    ``INSERT ... ON CONFLICT (idempotency_key) DO NOTHING`` for all of them and one query for
    the residents' e-mail addresses, instead of several statements per message.

    Returns the messages in the order given; a key already in the outbox (or given twice)
    stands for its first message, and ``ValueError`` if that message is of another type.
    """
    items = list(outgoing)
    now = timezone.now()
    by_key: dict[str, Message] = {}
    new: list[Message] = []
    for item in items:
        message = _message(item, acting_user, now)
        first = by_key.get(item.idempotency_key)
        if first is None:
            by_key[item.idempotency_key] = message
            new.append(message)
        elif first.template != item.template:
            raise ValueError(f"key {item.idempotency_key} already names a {first.template}")
    db = router.db_for_write(Message)
    _add_resident_emails(new, db)

    # Several rows: all or none of them (a savepoint inside the caller's transaction), so that
    # a key found to name another type after the insert takes the batch's new rows back too.
    with transaction.atomic(using=db) if len(new) > 1 else nullcontext():
        ids = _insert_new(new, db)
        earlier = [m.idempotency_key for m in new if m.idempotency_key not in ids]
        found = (
            list(Message.objects.using(db).filter(idempotency_key__in=earlier)) if earlier else []
        )
        for existing in found:
            wanted = by_key[existing.idempotency_key].template
            if existing.template != wanted:
                raise ValueError(f"key {existing.idempotency_key} already names a {wanted}")
            by_key[existing.idempotency_key] = existing
        if len(found) != len(earlier):  # skipped as a duplicate, then deleted meanwhile
            raise Message.DoesNotExist(f"messages {earlier} changed while being written")
    for message in new:
        if message.idempotency_key not in ids:
            continue
        message.pk = ids[message.idempotency_key]
        message._state.adding, message._state.db = False, db
        if settings.NOTIFICATIONS_SEND_ON_COMMIT:
            transaction.on_commit(functools.partial(_dispatch, message.pk), using=db)
    return [by_key[item.idempotency_key] for item in items]


def _message(item: Outgoing, acting_user: Any, now: datetime) -> Message:
    """The outbox row for ``item`` (not saved; a resident's e-mail address comes later);
    ``ValueError`` (``UnknownTemplate``) when it breaks a rule."""
    fam = texts.family(item.template)
    plain = texts.plain_data(item.data)
    texts.check_data(fam, plain)
    order = channel_order(item.channels)
    key = item.idempotency_key
    if not key or len(key) > 150:
        raise ValueError("idempotency_key must be 1 to 150 characters")
    if item.language not in texts.LANGUAGES:
        raise ValueError(f"language must be one of {texts.LANGUAGES}")
    attachment = str(item.attachment) if item.attachment else ""
    if attachment:
        path = Path(attachment)
        if not (path if path.is_absolute() else Path(settings.MEDIA_ROOT) / path).is_file():
            raise ValueError(f"attachment {attachment} does not exist")

    recipient = item.recipient
    if isinstance(recipient, Resident):
        resident: Resident | None = recipient
        contact, email = None, ""
    else:
        contact, resident, email = recipient, recipient.resident, recipient.email
    return Message(
        idempotency_key=key,
        template=item.template,
        language=item.language,
        data=plain,
        attachment=attachment,
        attachment_name=Path(attachment).name if attachment else "",
        resident=resident,
        contact=contact,
        recipient_name=recipient.name[:150],
        consent_source=item.consent_source[:60],
        phone=phone_or_blank(recipient.phone),
        email=email,
        village_id=recipient.village_id,
        regency_id=recipient.regency_id,
        channels=order,
        channel=order[0],
        state=State.QUEUED,
        next_attempt_at=now,
        created_by=acting_user if getattr(acting_user, "pk", None) else None,
    )


def _add_resident_emails(messages: Sequence[Message], db: str) -> None:
    """A message to a resident goes to the e-mail address of one of their contacts."""
    residents = {m.resident_id for m in messages if m.contact_id is None and m.resident_id}
    if not residents:
        return
    emails: dict[int, str] = {}
    rows = (
        Contact.objects.using(db)
        .filter(resident_id__in=residents)
        .exclude(email="")
        .order_by("name", "pk")
        .values_list("resident_id", "email")
    )
    for resident_id, email in rows:
        emails.setdefault(resident_id, email)
    for message in messages:
        if message.contact_id is None and message.resident_id in emails:
            message.email = emails[message.resident_id]


_INSERT_ROWS = 500  # rows per statement at most (SQLite: fewer if its parameter limit is low)
_INSERT_FIELDS = [f for f in Message._meta.concrete_fields if not f.primary_key]


def _array_type(field: Field[Any, Any], conn: Any) -> str:
    """The array type a column's values are sent as. Text goes as ``text``: an explicit cast to
    ``varchar(n)`` would cut a value that is too long, where the insert must refuse it."""
    cast = str(field.cast_db_type(conn))
    return "text" if cast.startswith("varchar") else cast


@functools.lru_cache(maxsize=16)  # a few chunk sizes recur; the SQL is long
def _insert_sql(db: str, rows: int) -> str:
    """The insert of ``rows`` new messages (on PostgreSQL any number: ``rows`` is 0), built once
    (on SQLite for the full chunk size and the last chunk's; ``ON CONFLICT ... RETURNING`` needs
    SQLite 3.35)."""
    conn = connections[db]
    quote = conn.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in _INSERT_FIELDS)
    head = f"INSERT INTO {quote(Message._meta.db_table)} ({columns}) "
    tail = " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key"
    if conn.vendor == "postgresql":
        # An array per column keeps the statement short whatever the number of rows: the
        # driver parses a long statement's placeholders anew each time (a quarter of the cost).
        arrays = ", ".join(f"%s::{_array_type(f, conn)}[]" for f in _INSERT_FIELDS)
        return f"{head}SELECT * FROM unnest({arrays}){tail}"
    row = "(" + ", ".join(["%s"] * len(_INSERT_FIELDS)) + ")"
    return f"{head}VALUES {', '.join([row] * rows)}{tail}"


def _insert_new(messages: Sequence[Message], db: str) -> dict[str, int]:
    """Insert the messages whose key is new to the outbox; the new rows' ids by key."""
    if not messages:
        return {}
    conn = connections[db]

    def value(field: Field[Any, Any], message: Message) -> Any:
        return field.get_db_prep_save(field.pre_save(message, True), conn)

    if conn.vendor == "postgresql":
        arrays = [[value(f, m) for m in messages] for f in _INSERT_FIELDS]
        statements = [(_insert_sql(db, 0), arrays)]
    else:
        limit = conn.features.max_query_params or _INSERT_ROWS * len(_INSERT_FIELDS)
        size = max(1, min(_INSERT_ROWS, limit // len(_INSERT_FIELDS)))
        chunks = [messages[i : i + size] for i in range(0, len(messages), size)]
        statements = [
            (_insert_sql(db, len(chunk)), [value(f, m) for m in chunk for f in _INSERT_FIELDS])
            for chunk in chunks
        ]
    ids: dict[str, int] = {}
    with conn.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            ids.update((key, pk) for pk, key in cursor.fetchall())
    return ids


# Contacts and consent


def contact_create(
    *,
    name: str,
    phone: str = "",
    email: str = "",
    village: Region | None = None,
    resident: Resident | None = None,
    acting_user: Any = None,
) -> Contact:
    """A person to write to; the phone number is stored in E.164 (``PhoneError`` if invalid)."""
    if village is None and resident is not None:
        village = resident.village
    if acting_user is not None and village is not None:
        require(acting_user, Action.EDIT_RESIDENT, _regency_of(village))
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValueError(f"Alamat surel {email!r} tidak valid.") from None
    contact = Contact.objects.create(
        name=name[:150],
        phone=phone_e164(phone) if phone else "",
        email=email,
        village=village,
        regency_id=_regency_of(village),
        resident=resident,
    )
    audit_record(
        acting_user=acting_user,
        action="contact.create",
        obj=contact,
        changes={"phone": [None, contact.phone], "email": [None, contact.email]},
    )
    return contact


@transaction.atomic
def consent_record(
    *,
    channel: str,
    granted: bool,
    source: str,
    resident: Resident | None = None,
    contact: Contact | None = None,
    acting_user: Any = None,
    at: datetime | None = None,
) -> Consent:
    """Record a yes or no to ``channel`` with its source and date (and the registry's WhatsApp
    consent for a resident, so both say the same)."""
    if (resident is None) == (contact is None):
        raise ValueError("give exactly one of resident or contact")
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    subject = resident if resident is not None else contact
    subject_regency = subject.regency_id if subject is not None else None
    if acting_user is not None and subject_regency:
        require(acting_user, Action.EDIT_RESIDENT, subject_regency)
    at = at or timezone.now()
    user = acting_user if getattr(acting_user, "pk", None) else None
    row = (
        Consent.objects.select_for_update()
        .filter(resident=resident, contact=contact, channel=channel)
        .first()
    )
    old = row.granted if row is not None else None
    if row is None:
        row = Consent(resident=resident, contact=contact, channel=channel)
    row.granted, row.source, row.at, row.recorded_by = granted, source[:60], at, user
    row.save()
    if old != granted:
        audit_record(
            acting_user=acting_user,
            action="consent.record",
            obj=row,
            changes={"granted": [old, granted]},
            reason=source,
            actor_label="" if user else source[:120],
        )
    if resident is not None and channel == Channel.WHATSAPP:
        resident_set_whatsapp_consent(
            resident=resident, consent=granted, source=source, acting_user=acting_user
        )
    return row


# Letters


def letter_batch_create(*, village: Region, acting_user: Any) -> LetterBatch:
    """Put every letter waiting for ``village`` into a new batch and render its PDF."""
    from .letters import render_batch_pdf

    regency = village.regency_code
    if village.level != Level.VILLAGE or regency is None:
        raise ValueError(f"{village.code} is not a village")
    require(acting_user, Action.EDIT_RESIDENT, regency)
    with transaction.atomic():
        waiting = list(
            Message.objects.select_for_update(of=("self",))
            .filter(
                village=village,
                state=State.QUEUED,
                channel=Channel.LETTER,
                next_attempt_at__isnull=True,
                letter_batch__isnull=True,
            )
            .select_related("resident", "village__parent")
            .order_by("recipient_name", "id")
        )
        if not waiting:
            raise NotificationRefused("Tidak ada surat yang menunggu untuk desa/kelurahan ini.")
        batch = LetterBatch.objects.create(
            village=village,
            regency_id=regency,
            created_by=acting_user if getattr(acting_user, "pk", None) else None,
            letters=len(waiting),
        )
        Message.objects.filter(pk__in=[m.pk for m in waiting]).update(
            letter_batch=batch, version=F("version") + 1
        )
        folder = Path(settings.NOTIFICATIONS_LETTER_DIR) / regency
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"surat-{village.code}-{batch.pk:06d}.pdf"
        path.write_bytes(render_batch_pdf(batch, waiting))
        batch.pdf_path = str(path)
        batch.save(update_fields=["pdf_path"])
        audit_record(
            acting_user=acting_user,
            action="letter_batch.create",
            obj=batch,
            changes={"letters": [None, len(waiting)]},
        )
    return batch


@transaction.atomic
def letter_batch_mark_printed(*, batch: LetterBatch, acting_user: Any) -> int:
    """The batch was printed and goes to the village officials: its letters count as sent."""
    require(acting_user, Action.EDIT_RESIDENT, batch.regency_id)
    batch = LetterBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.printed_at is not None:
        raise NotificationRefused("Batch surat ini sudah ditandai tercetak.")
    now = timezone.now()
    letters = list(
        Message.objects.filter(letter_batch=batch, state=State.QUEUED, channel=Channel.LETTER)
    )
    Message.objects.filter(pk__in=[m.pk for m in letters]).update(
        state=State.SENT,
        sent_at=now,
        provider_message_id=f"surat:{batch.pk}",
        version=F("version") + 1,
    )
    who = acting_user.get_username() if getattr(acting_user, "pk", None) else "system"
    Attempt.objects.bulk_create(
        Attempt(
            message=m,
            channel=Channel.LETTER,
            number=m.attempts + 1,
            started_at=batch.created_at,
            finished_at=now,
            worker=who,
            outcome=Attempt.Outcome.SENT,
            detail=f"Dicetak dalam batch surat #{batch.pk}.",
            provider_message_id=f"surat:{batch.pk}",
        )
        for m in letters
    )
    batch.printed_at = now
    batch.printed_by = acting_user if getattr(acting_user, "pk", None) else None
    batch.save(update_fields=["printed_at", "printed_by"])
    audit_record(
        acting_user=acting_user,
        action="letter_batch.printed",
        obj=batch,
        changes={"printed_at": [None, now.isoformat()]},
    )
    return len(letters)


# WhatsApp webhooks


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return timezone.now()


def _status_error(status: Mapping[str, Any]) -> str:
    parts = []
    for error in status.get("errors") or []:
        details = (error.get("error_data") or {}).get("details", "")
        text = f"(#{error.get('code')}) {error.get('title') or error.get('message', '')}"
        parts.append(text + (f": {details}" if details else ""))
    return "; ".join(parts) or "WhatsApp melaporkan pesan gagal terkirim."


def message_status_apply(*, status: Mapping[str, Any]) -> bool:
    """Apply one WhatsApp status (sent, delivered, read, failed); ``True`` if it changed a row.

    Statuses only move a message forward. A failure moves it to its next channel. A status that
    names the message only by its key (``biz_opaque_callback_data``) settles a message whose
    worker died after WhatsApp accepted it, so it is not sent again.
    """
    kind = str(status.get("status", ""))
    wamid = str(status.get("id", ""))
    key = str(status.get("biz_opaque_callback_data", ""))
    at = _timestamp(status.get("timestamp"))
    for _ in range(3):  # re-read when a worker changed the row in between
        message = None
        if wamid:
            message = Message.objects.filter(provider_message_id=wamid).first()
        if message is None and key:
            message = Message.objects.filter(idempotency_key=key).first()
        if message is None or message.channel != Channel.WHATSAPP:
            return False
        update: dict[str, Any] = {}
        attempt: Attempt | None = None
        unsettled = message.state in (State.QUEUED, State.SENDING)
        if kind in ("sent", "delivered", "read"):
            rank = {"sent": 1, "delivered": 2, "read": 3}[kind]
            current = {State.SENT: 1, State.DELIVERED: 2, State.READ: 3}.get(
                State(message.state), 0
            )
            if unsettled:
                update |= {
                    "provider_message_id": wamid,
                    "sent_at": message.sent_at or at,
                    "next_attempt_at": None,
                    "lease_until": None,
                }
                attempt = Attempt(
                    message=message,
                    channel=Channel.WHATSAPP,
                    number=message.attempts,
                    started_at=at,
                    finished_at=timezone.now(),
                    worker="webhook",
                    outcome=Attempt.Outcome.SENT,
                    detail="WhatsApp melaporkan pesan ini sudah diterima.",
                    provider_message_id=wamid,
                )
            if kind == "delivered" and message.delivered_at is None:
                update["delivered_at"] = at
            if kind == "read":
                update["read_at"] = message.read_at or at
                update["delivered_at"] = message.delivered_at or at
            if message.state != State.FAILED and rank > current:
                update["state"] = State(kind)
        elif kind == "failed" and message.state != State.FAILED:
            reason = _status_error(status)
            reasons = [message.failure_reason] if message.failure_reason else []
            reasons.append(f"WhatsApp: {reason}")
            update["failure_reason"] = " | ".join(reasons)[-1000:]
            if message.channel_index + 1 < len(message.channels):
                index = message.channel_index + 1
                update |= {
                    "channel_index": index,
                    "channel": message.channels[index],
                    "attempts": 0,
                    "state": State.QUEUED,
                    "next_attempt_at": timezone.now(),
                    "lease_until": None,
                }
            else:
                update |= {"state": State.FAILED, "failed_at": at, "lease_until": None}
            attempt = Attempt(
                message=message,
                channel=Channel.WHATSAPP,
                number=message.attempts,
                started_at=at,
                finished_at=timezone.now(),
                worker="webhook",
                outcome=Attempt.Outcome.PERMANENT,
                detail=reason[:500],
                provider_message_id=wamid,
            )
        if not update:
            return False
        with transaction.atomic():
            changed = Message.objects.filter(pk=message.pk, version=message.version).update(
                version=F("version") + 1, **update
            )
            if changed and attempt is not None:
                attempt.save()
        if changed:
            return True
    return False


def _phones_like(e164: str) -> list[str]:
    """How an Indonesian number may have been typed into the registry."""
    forms = [e164, e164.lstrip("+")]
    if e164.startswith("+62"):
        forms.append("0" + e164[3:])
    return forms


def inbound_record(*, message: Mapping[str, Any]) -> InboundMessage | None:
    """Record a message a person sent us: it opens the 24-hour window; "STOP"/"BERHENTI"
    records an opt-out of WhatsApp, "MULAI"/"START" an opt-in."""
    phone = phone_or_blank(str(message.get("from", "")))
    wamid = str(message.get("id", ""))
    if not phone or not wamid:
        return None
    kind = str(message.get("type", "text"))
    text = ""
    if kind == "text":
        text = str((message.get("text") or {}).get("body", ""))
    elif kind == "button":
        text = str((message.get("button") or {}).get("text", ""))
    at = _timestamp(message.get("timestamp"))
    inbound, created = InboundMessage.objects.get_or_create(
        wa_message_id=wamid,
        defaults={"phone": phone, "text": text[:4000], "kind": kind[:20], "received_at": at},
    )
    if not created:
        return inbound  # WhatsApp delivers webhooks at least once
    word = text.strip().strip(".!").upper()
    if word in OPT_OUT_WORDS or word in OPT_IN_WORDS:
        granted = word in OPT_IN_WORDS
        source = f"WhatsApp: {word}"
        forms = _phones_like(phone)
        for resident in Resident.objects.filter(phone__in=forms):
            consent_record(
                channel=Channel.WHATSAPP, granted=granted, source=source, resident=resident, at=at
            )
        for contact in Contact.objects.filter(phone=phone):
            consent_record(
                channel=Channel.WHATSAPP, granted=granted, source=source, contact=contact, at=at
            )
    return inbound


def whatsapp_webhook_apply(*, payload: Mapping[str, Any]) -> dict[str, int]:
    """Apply a (signature-checked) webhook payload: statuses and incoming messages."""
    counts = {"statuses": 0, "changed": 0, "messages": 0}
    for entry in _list(payload.get("entry")):
        for change in _list(entry.get("changes")):
            value = change.get("value") or {}
            for status in _list(value.get("statuses")):
                counts["statuses"] += 1
                counts["changed"] += int(message_status_apply(status=status))
            for incoming in _list(value.get("messages")):
                counts["messages"] += int(inbound_record(message=incoming) is not None)
    return counts


def _list(value: Any) -> Iterable[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []

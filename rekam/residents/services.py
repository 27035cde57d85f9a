"""Every change to a resident or their KTP-el record goes through these functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from rekam.accounts.access import Action, require
from rekam.audit.services import audit_record, diff_fields

from .eligibility import KTP_AGE, ktp_duty_day, must_hold_ktp
from .models import RecordEvent, Resident, name_key
from .signals import records_moved_send, residents_relocated
from .states import PRINTING_MOVES, KtpState, MoveSource, move_sources


class MoveRefused(Exception):
    """A move the table forbids or the actor may not make; ``message`` is in Indonesian."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _label(state: str) -> str:
    return str(KtpState(state).label) if state in KtpState.values else state


def check_move(from_state: str, to_state: str, source: str) -> None:
    """Raise :class:`MoveRefused` unless ``source`` may move a record between these states."""
    if from_state == to_state:
        raise MoveRefused(f"Status sudah {_label(to_state)}.")
    allowed = move_sources(from_state, to_state)
    if not allowed:
        raise MoveRefused(
            f"Perpindahan status dari {_label(from_state)} ke {_label(to_state)} tidak diizinkan."
        )
    if source not in allowed:
        who = "kantor pelayanan" if MoveSource.OFFICE in allowed else "sistem pusat (SIAK)"
        raise MoveRefused(
            f"Perpindahan status dari {_label(from_state)} ke {_label(to_state)} "
            f"hanya dapat dilakukan oleh {who}."
        )


def recording_refusal(resident: Resident, today: date | None = None) -> str:
    """Why ``resident`` may not record KTP-el biometrics yet, in Indonesian ("" when they may):
    the KTP-el duty (17, or ever married) must hold today, or on the polling day of an upcoming
    election of their regency/city (first-time voters record before it)."""
    today = today or timezone.localdate()
    election = apps.get_model("elections", "Election")
    upcoming = election.objects.filter(polling_day__gte=today, regions=resident.regency_id)
    days = [today, *upcoming.values_list("polling_day", flat=True)]
    born, marital = resident.birth_date, resident.marital_status
    if any(must_hold_ktp(birth_date=born, marital_status=marital, on=day) for day in days):
        return ""
    turns = ktp_duty_day(born)
    return (
        f"Penduduk ini belum wajib KTP-el: belum pernah kawin dan baru berusia {KTP_AGE} tahun "
        f"pada {turns:%d-%m-%Y}. Perekaman dilakukan setelah ia wajib KTP-el, atau lebih awal "
        f"bila ia berusia {KTP_AGE} tahun pada hari pemungutan suara."
    )


@transaction.atomic
def record_move(
    *,
    resident: Resident,
    to_state: str,
    acting_user: Any = None,
    source: str = MoveSource.OFFICE,
    reason: str = "",
    at: datetime | None = None,
    actor_label: str = "",
    printing: bool = False,
) -> RecordEvent:
    """Move ``resident``'s KTP-el record to ``to_state`` or raise :class:`MoveRefused`.

    An office move needs a user allowed to record biometrics for this resident, and a first
    recording a resident who must hold a KTP-el (:func:`recording_refusal`); a central move
    comes from an import or the simulator (``actor_label`` names it). The office's
    printing move is made only by the printing service, which passes ``printing=True``.
    Listeners of :data:`~rekam.residents.signals.records_moved` act in the same transaction.
    """
    if source == MoveSource.OFFICE:
        require(acting_user, Action.RECORD_BIOMETRICS, resident.regency_id)
    # Re-read under a row lock so two counters cannot move the same record at once.
    locked = Resident.objects.select_for_update().only("pk", "ktp_state").get(pk=resident.pk)
    check_move(locked.ktp_state, to_state, source)
    if (
        source == MoveSource.OFFICE
        and (locked.ktp_state, to_state) == (KtpState.BELUM_REKAM, KtpState.BIO_CAPTURED)
        and (refusal := recording_refusal(resident))
    ):
        raise MoveRefused(refusal)
    if (
        source == MoveSource.OFFICE
        and (locked.ktp_state, to_state) in PRINTING_MOVES
        and not printing
    ):
        raise MoveRefused("Pencetakan KTP-el dicatat melalui daftar cetak: satu blangko dipakai.")
    at = at or timezone.now()
    event = RecordEvent.objects.create(
        resident=resident,
        from_state=locked.ktp_state,
        to_state=to_state,
        at=at,
        source=source,
        actor=acting_user if getattr(acting_user, "pk", None) else None,
        actor_label=actor_label or (acting_user.get_username() if acting_user else ""),
        reason=reason[:300],
    )
    Resident.objects.filter(pk=resident.pk).update(ktp_state=to_state, ktp_state_at=at)
    resident.ktp_state, resident.ktp_state_at = to_state, at
    records_moved_send(
        moves=[(resident.pk, to_state, at)],
        source=source,
        acting_user=acting_user,
        label=event.actor_label,
        reason=event.reason,
    )
    return event


# Fields staff may correct on the resident page (the NIK never changes: it identifies).
EDITABLE_FIELDS = (
    "kk_number",
    "name",
    "birth_place",
    "birth_date",
    "sex",
    "religion",
    "marital_status",
    "occupation",
    "citizenship",
    "village",
    "rt",
    "rw",
    "street",
    "phone",
)


@dataclass
class ResidentChange:
    resident: Resident
    changes: dict[str, list[Any]]


@transaction.atomic
def resident_update(
    *, resident: Resident, acting_user: Any, reason: str = "", **values: Any
) -> ResidentChange:
    """Change a resident's data and write who changed what, with old and new values."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    require(acting_user, Action.EDIT_RESIDENT, resident.regency_id)
    if "village" in values:
        require(acting_user, Action.EDIT_RESIDENT, values["village"].parent.parent_id)
    before = {f: getattr(resident, f) for f in values}
    changes = diff_fields(before, values)
    if not changes:
        return ResidentChange(resident, {})
    for field, value in values.items():
        setattr(resident, field, value)
    if "name" in values:
        resident.name_key = name_key(resident.name)
    if "village" in values:
        resident.regency_id = values["village"].parent.parent_id
    resident.save()
    if "village" in changes:
        residents_relocated.send(sender=Resident, resident_ids=[resident.pk])
    audit_record(
        acting_user=acting_user,
        action="resident.update",
        obj=resident,
        changes=changes,
        reason=reason,
    )
    return ResidentChange(resident, changes)


@transaction.atomic
def resident_set_whatsapp_consent(
    *, resident: Resident, consent: bool, source: str, acting_user: Any = None
) -> None:
    """Record a resident's WhatsApp consent (or its withdrawal) with its source and date."""
    if acting_user is not None:
        require(acting_user, Action.EDIT_RESIDENT, resident.regency_id)
    if resident.whatsapp_consent == consent:
        return
    old = resident.whatsapp_consent
    resident.whatsapp_consent = consent
    resident.whatsapp_consent_at = timezone.now()
    resident.whatsapp_consent_source = source[:60]
    resident.save(
        update_fields=[
            "whatsapp_consent",
            "whatsapp_consent_at",
            "whatsapp_consent_source",
            "updated_at",
        ]
    )
    audit_record(
        acting_user=acting_user,
        action="resident.whatsapp_consent",
        obj=resident,
        changes={"whatsapp_consent": [old, consent]},
        reason=source,
        actor_label="" if acting_user else source,
    )

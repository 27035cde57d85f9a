"""The issuance decision as a service, Suket issuance, numbering, revocation and publishing."""

from __future__ import annotations

import base64
import functools
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from rekam.accounts.access import Action, require
from rekam.accounts.models import Office
from rekam.audit.models import AuditEntry
from rekam.audit.services import audit_record
from rekam.elections.models import Election
from rekam.lib.pdf import Certificate, date_id, render_certificate
from rekam.lib.signing import sign_text
from rekam.notifications.models import Contact
from rekam.notifications.phones import phone_or_blank
from rekam.residents.models import Resident
from rekam.residents.states import KtpState

from .keys import office_key_active, private_key
from .models import DuplicateApproval, NumberCounter, OfficeKey, Outcome, Suket, SuketDecision
from .rules import Decision, DecisionInputs, Reason, decide
from .stock import _actor, _label, office_for_region, printer_working, stock_balance
from .verify import PAYLOAD_VERSION, QR_PREFIX, REVOCATION_HASH_BYTES, revocation_hash


class SuketError(Exception):
    """Issuance that cannot go ahead; ``message`` is in Indonesian."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def active_suket(resident: Resident, election: Election) -> Suket | None:
    return (
        Suket.objects.filter(resident=resident, election=election, revoked_at__isnull=True)
        .order_by("-issued_at")
        .first()
    )


def decision_inputs_many(
    *, residents: list[Resident], election: Election, at: datetime
) -> dict[int, DecisionInputs]:
    """What the decision depends on, for each resident, gathered in a few queries."""
    regencies = tuple(sorted(str(c) for c in election.regions.values_list("code", flat=True)))
    today = timezone.localtime(at).date()
    offices = {
        str(code): office_for_region(str(code)) for code in {r.regency_id for r in residents}
    }
    blanks = {code: stock_balance(o) for code, o in offices.items()}
    printing = {code: printer_working(o) for code, o in offices.items()}
    ids = [r.pk for r in residents]
    approved = set(
        DuplicateApproval.objects.filter(election=election, resident_id__in=ids).values_list(
            "resident_id", flat=True
        )
    )
    active = dict(
        Suket.objects.filter(
            election=election, resident_id__in=ids, revoked_at__isnull=True
        ).values_list("resident_id", "number")
    )
    return {
        r.pk: DecisionInputs(
            ktp_state=r.ktp_state,
            resident_regency=str(r.regency_id),
            election=election.slug,
            election_regencies=regencies,
            issue_until=election.suket_issue_until,
            valid_until=election.suket_valid_until,
            today=today,
            birth_date=r.birth_date,
            marital_status=r.marital_status,
            polling_day=election.polling_day,
            blanks=blanks[str(r.regency_id)],
            printer_working=printing[str(r.regency_id)],
            duplicate_approved=r.pk in approved,
            active_suket=active.get(r.pk, ""),
        )
        for r in residents
    }


def decision_inputs(*, resident: Resident, election: Election, at: datetime) -> DecisionInputs:
    """Gather what the decision depends on from the database, as of ``at``."""
    return decision_inputs_many(residents=[resident], election=election, at=at)[resident.pk]


@dataclass(frozen=True)
class DecisionResult:
    decision: Decision
    inputs: DecisionInputs
    record: SuketDecision | None  # None when asked without recording (``suket_decide``)


def suket_decide(
    *,
    resident: Resident,
    election: Election,
    acting_user: Any = None,
    at: datetime | None = None,
    record: bool = True,
    actor_label: str = "",
) -> DecisionResult:
    """Decide PRINT / SUKET / REFUSE for ``resident`` and store the decision with its inputs."""
    if acting_user is not None:
        require(acting_user, Action.VIEW_RESIDENT, resident.regency_id)
    at = at or timezone.now()
    inputs = decision_inputs(resident=resident, election=election, at=at)
    decision = decide(inputs)
    row = None
    if record:
        row = _unchanged_decision(resident, election, decision, inputs)
        if row is None:
            row = _decision_row(resident, election, at, decision, inputs, acting_user, actor_label)
            row.save()
    return DecisionResult(decision, inputs, row)


def _basis(inputs: dict[str, Any]) -> dict[str, Any]:
    """What a decision rests on, as two of them are compared: the rules read the blank count
    only as none or some, so a card printed meanwhile changes nothing."""
    return {**inputs, "blanks": int(inputs.get("blanks") or 0) > 0}


def _unchanged_decision(
    resident: Resident, election: Election, decision: Decision, inputs: DecisionInputs
) -> SuketDecision | None:
    """The latest stored decision for ``resident`` and ``election`` when a check gives the same
    answer on the same basis (checking again records nothing new); else ``None``. A new day,
    state, stock (some or none), approval or Suket is a new basis, so the history keeps every
    change and who saw it first."""
    last = (
        SuketDecision.objects.filter(resident=resident, election=election)
        .order_by("-decided_at", "-id")
        .first()
    )
    if last is None:
        return None
    same = (last.outcome, last.reason, last.message) == (
        decision.outcome,
        decision.reason,
        decision.message[:300],
    )
    return last if same and _basis(last.inputs) == _basis(inputs.as_json()) else None


def _decision_row(
    resident: Resident,
    election: Election,
    at: datetime,
    decision: Decision,
    inputs: DecisionInputs,
    acting_user: Any,
    actor_label: str,
) -> SuketDecision:
    return SuketDecision(
        resident=resident,
        election=election,
        office=office_for_region(str(resident.regency_id)),
        moment=at,
        outcome=decision.outcome,
        reason=decision.reason,
        message=decision.message[:300],
        inputs=inputs.as_json(),
        actor=_actor(acting_user),
        actor_label=actor_label or _label(acting_user, "system"),
    )


@transaction.atomic
def duplicate_approve(
    *, resident: Resident, election: Election, reason: str, acting_user: Any
) -> DuplicateApproval:
    """A supervisor allows a Suket for a resident whose record is a duplicate (our reading)."""
    require(acting_user, Action.APPROVE, resident.regency_id)
    if resident.ktp_state != KtpState.DUPLICATE_RECORD:
        raise SuketError("Persetujuan hanya diperlukan untuk data berstatus ganda.")
    if not reason.strip():
        raise SuketError("Alasan persetujuan wajib diisi.")
    approval, created = DuplicateApproval.objects.select_related("approved_by").get_or_create(
        resident=resident,
        election=election,
        defaults={
            "approved_by": acting_user,
            "approved_at": timezone.now(),
            "reason": reason.strip()[:300],
        },
    )
    if not created:
        raise SuketError(
            f"Suket untuk data ganda ini sudah disetujui oleh {approval.approved_by} pada "
            f"{timezone.localtime(approval.approved_at):%d-%m-%Y %H:%M}."
        )
    audit_record(
        acting_user=acting_user,
        action="suket.duplicate_approve",
        obj=resident,
        changes={"approved": [False, True]},
        reason=f"{election.name}: {reason}",
    )
    return approval


def approval_requests(where: Q, today: date) -> QuerySet[SuketDecision]:
    """Suket decisions waiting for a supervisor: the latest "needs approval" answer for each
    resident and election (``where`` bounds the residents: the caller's jurisdiction) whose
    record is still a duplicate, in an election still issuing Sukets, with no approval and no
    valid Suket yet; the longest waiting first."""
    pair = {"resident": OuterRef("resident"), "election": OuterRef("election")}
    return (
        SuketDecision.objects.filter(
            where,
            reason=Reason.PERLU_PERSETUJUAN,
            resident__ktp_state=KtpState.DUPLICATE_RECORD,
            election__suket_issue_until__gte=today,
        )
        .exclude(
            Exists(
                SuketDecision.objects.filter(
                    **pair, reason=Reason.PERLU_PERSETUJUAN, pk__gt=OuterRef("pk")
                )
            )
        )
        .exclude(Exists(DuplicateApproval.objects.filter(**pair)))
        .exclude(Exists(Suket.objects.filter(**pair, revoked_at__isnull=True)))
        .select_related("resident", "resident__village", "election", "actor")
        .order_by("decided_at", "id")
    )


def format_number(office: Office, year: int, seq: int) -> str:
    """``470/0001/SKT-KTP/18.71/2020``: 470 is the records classification for population."""
    return f"470/{seq:04d}/SKT-KTP/{office.code}/{year}"


def number_take(office: Office, year: int, count: int = 1) -> int:
    """The first of the office's next ``count`` Suket numbers for ``year``; unique under
    concurrency (the counter row stays locked until the caller's transaction ends)."""
    NumberCounter.objects.get_or_create(office=office, year=year)
    counter = NumberCounter.objects.select_for_update().get(office=office, year=year)
    first = counter.last + 1
    NumberCounter.objects.filter(pk=counter.pk).update(last=counter.last + count)
    return first


SEX = {"L": "LAKI-LAKI", "P": "PEREMPUAN"}


def holder_data(resident: Resident) -> dict[str, str]:
    """The holder's KTP data as the Suket prints it."""
    village = resident.village
    district = village.parent
    rt_rw = f"{resident.rt or '-'}/{resident.rw or '-'}"
    return {
        "nik": resident.nik,
        "name": resident.name.upper(),
        "birth_place": resident.birth_place.upper(),
        "birth_date": resident.birth_date.isoformat(),
        "sex": SEX.get(resident.sex, resident.sex),
        "street": resident.street.upper(),
        "rt_rw": rt_rw,
        "village": village.display_name.upper(),
        "district": district.display_name.upper() if district else "",
        "religion": resident.religion,
        "marital_status": resident.marital_status,
        "occupation": resident.occupation.upper(),
        "citizenship": resident.citizenship,
    }


REASON_SENTENCE = {
    Reason.BELUM_PRR: "data perekamannya masih dalam proses penunggalan (belum PRR)",
    Reason.BLANKO_HABIS: "blangko KTP-el sedang habis",
    Reason.KENDALA_TEKNIS: "terdapat kendala teknis pencetakan KTP-el",
}


def _government(office: Office) -> str:
    region = office.region
    if region.kind == "kota":
        return f"PEMERINTAH KOTA {region.name.upper()}"
    if region.kind == "kabupaten":
        return f"PEMERINTAH KABUPATEN {region.name.upper()}"
    return f"PEMERINTAH {region.display_name.upper()}"


def _place(office: Office) -> str:
    return office.region.name


@dataclass(frozen=True)
class SuketContent:
    """Everything that goes on a Suket, before it is numbered in the database."""

    office: Office
    election: Election
    number: str
    uid: bytes
    holder: dict[str, str]
    reason: str
    issued_on: date
    valid_until: date
    signer_name: str
    signer_nip: str


def qr_payload(c: SuketContent) -> dict[str, Any]:
    """The signed QR payload: the Suket's essentials and validity, short keys for a small code."""
    return {
        "v": PAYLOAD_VERSION,
        "id": c.uid,
        "no": c.number,
        "nik": c.holder["nik"],
        "nm": c.holder["name"],
        "lhr": c.holder["birth_date"],
        "of": c.office.code,
        "el": c.election.slug,
        "r": c.reason,
        "iss": c.issued_on.isoformat(),
        "vu": c.valid_until.isoformat(),
    }


def suket_verify_url() -> str:
    """The verifier's address for paper and messages: ``SUKET_VERIFY_URL`` when absolute, a bare
    path after ``PUBLIC_BASE_URL`` (nobody can type "/verifikasi" from a printed Suket)."""
    url = str(settings.SUKET_VERIFY_URL)
    if "://" in url:
        return url
    return f"{str(settings.PUBLIC_BASE_URL).rstrip('/')}/{url.lstrip('/')}"


def certificate_for(c: SuketContent, qr_text: str) -> Certificate:
    h = c.holder
    birth = date.fromisoformat(h["birth_date"])
    office = c.office
    address_line = " ".join(x for x in (office.address,) if x) or office.region.display_name
    return Certificate(
        heading=[_government(office), "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL", address_line],
        title="SURAT KETERANGAN TELAH MELAKUKAN PEREKAMAN KTP-el",
        number=c.number,
        intro=(
            f"Yang bertanda tangan di bawah ini, Kepala {office.name}, "
            "menerangkan dengan sebenarnya bahwa:"
        ),
        fields=[
            ("NIK", h["nik"]),
            ("Nama", h["name"]),
            ("Tempat/Tgl. Lahir", f"{h['birth_place'] or '-'}, {birth:%d-%m-%Y}"),
            ("Jenis Kelamin", h["sex"]),
            ("Alamat", h["street"] or "-"),
            ("RT/RW", h["rt_rw"]),
            ("Kel/Desa", h["village"]),
            ("Kecamatan", h["district"]),
            ("Agama", h["religion"] or "-"),
            ("Status Perkawinan", h["marital_status"]),
            ("Pekerjaan", h["occupation"] or "-"),
            ("Kewarganegaraan", h["citizenship"]),
        ],
        paragraphs=[
            "Penduduk tersebut di atas telah melakukan perekaman KTP-el dan tercatat dalam "
            f"database kependudukan; KTP-el belum dapat diterbitkan karena "
            f"{REASON_SENTENCE[Reason(c.reason)]}.",
            f"Surat keterangan ini diberikan untuk keperluan {c.election.name} dan berlaku "
            f"sampai dengan tanggal {date_id(c.valid_until)}. Surat keterangan ini tidak "
            "berlaku lagi apabila KTP-el yang bersangkutan telah dicetak.",
            "Demikian surat keterangan ini dibuat untuk dapat dipergunakan sebagaimana mestinya.",
        ],
        place_date=f"{_place(office)}, {date_id(c.issued_on)}",
        signer_title=_title_lines(office.name),
        signer_name=c.signer_name,
        signer_id=f"NIP. {c.signer_nip}",
        qr_text=qr_text,
        qr_caption=[
            "Pindai kode QR untuk memeriksa keaslian",
            "dan masa berlaku Suket ini (tanpa internet):",
            suket_verify_url(),
        ],
        subject=f"Suket {c.number}",
    )


def _title_lines(name: str) -> list[str]:
    # "Kepala Dinas Kependudukan dan Pencatatan Sipil Kota X" over two or three short lines.
    words = f"Kepala {name}".split()
    lines: list[str] = []
    line = ""
    for w in words:
        if line and len(line) + 1 + len(w) > 36:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return lines


def render_suket(c: SuketContent, key: OfficeKey, signer: Any = None) -> tuple[str, bytes]:
    """Sign the QR payload with ``key`` and render the PDF: ``(qr_text, pdf_bytes)``."""
    secret = signer or private_key(key)
    qr_text = sign_text(
        qr_payload(c), private_key=secret, kid=bytes.fromhex(key.kid), prefix=QR_PREFIX
    )
    return qr_text, render_certificate(certificate_for(c, qr_text))


@dataclass(frozen=True)
class IssueResult:
    resident: Resident
    decision: Decision
    record: SuketDecision
    suket: Suket | None

    @property
    def issued(self) -> bool:
        return self.suket is not None


# Residents decided and issued per transaction in bulk work: bounds how long the counter (and,
# on SQLite, the database's write lock) is held while PDFs render.
ISSUE_CHUNK = 50


def resident_has_valid_suket(resident: Resident, day: date) -> bool:
    """Whether ``resident`` holds a Suket that is in force on ``day`` (issued, not revoked)."""
    return Suket.objects.filter(
        resident=resident, revoked_at__isnull=True, valid_from__lte=day, valid_until__gte=day
    ).exists()


def suket_issue(
    *,
    resident: Resident,
    election: Election,
    acting_user: Any = None,
    at: datetime | None = None,
    actor_label: str = "",
) -> IssueResult:
    """Decide, and where the decision allows, number, sign, render and store a Suket.

    The decision is stored either way. A Suket is rendered once here and never again: downloads
    return the stored bytes.
    """
    return suket_issue_many(
        residents=[resident],
        election=election,
        acting_user=acting_user,
        at=at,
        actor_label=actor_label,
    )[0]


def suket_issue_many(
    *,
    residents: list[Resident],
    election: Election,
    acting_user: Any = None,
    at: datetime | None = None,
    actor_label: str = "",
) -> list[IssueResult]:
    """:func:`suket_issue` for many residents (bulk work), in order, a chunk per transaction."""
    if acting_user is not None:
        for regency in {r.regency_id for r in residents}:
            require(acting_user, Action.ISSUE_SUKET, regency)
    at = at or timezone.now()
    label = actor_label or _label(acting_user, "system")
    results: list[IssueResult] = []
    for i in range(0, len(residents), ISSUE_CHUNK):
        chunk = residents[i : i + ISSUE_CHUNK]
        results += _issue_chunk(chunk, election, at, acting_user, label)
    return results


@transaction.atomic
def _issue_chunk(
    residents: list[Resident], election: Election, at: datetime, acting_user: Any, label: str
) -> list[IssueResult]:
    # Lock the residents: a second counter issuing for the same person waits, then sees SUDAH_ADA.
    ids = [r.pk for r in residents]
    locked = {
        r.pk: r
        for r in Resident.objects.select_for_update(of=("self",))
        .select_related("village", "village__parent")
        .filter(pk__in=ids)
        .order_by("pk")
    }
    inputs = decision_inputs_many(residents=list(locked.values()), election=election, at=at)
    rows: list[tuple[Resident, Decision, SuketDecision]] = []
    seen: dict[int, int] = {}  # resident -> position of its Suket in this chunk
    for pk in ids:
        resident = locked[pk]
        i = inputs[pk]
        if pk in seen:  # listed twice: the second sees the first's Suket
            i = replace(i, active_suket="(baru diterbitkan)")
        decision = decide(i)
        if decision.outcome == Outcome.SUKET:
            seen[pk] = len(rows)
        rows.append(
            (
                resident,
                decision,
                _decision_row(resident, election, at, decision, i, acting_user, label),
            )
        )
    records = SuketDecision.objects.bulk_create([row for _, _, row in rows])
    issued_on = timezone.localtime(at).date()
    sukets: dict[int, Suket] = {}
    by_office: dict[int, list[int]] = {}
    for n, (_resident, decision, record) in enumerate(rows):
        if decision.outcome == Outcome.SUKET:
            by_office.setdefault(record.office_id, []).append(n)
    for positions in by_office.values():
        office = records[positions[0]].office
        if not (office.head_name and office.head_nip):
            raise SuketError(
                f"Nama dan NIP Kepala {office.name} belum diisi; Suket tidak dapat ditandatangani."
            )
        key = office_key_active(office)
        secret = private_key(key)
        first = number_take(office, issued_on.year, len(positions))
        for seq, n in enumerate(positions, start=first):
            resident, decision, record = rows[n][0], rows[n][1], records[n]
            content = SuketContent(
                office=office,
                election=election,
                number=format_number(office, issued_on.year, seq),
                uid=os.urandom(8),
                holder=holder_data(resident),
                reason=decision.reason,
                issued_on=issued_on,
                valid_until=election.suket_valid_until,
                signer_name=office.head_name,
                signer_nip=office.head_nip,
            )
            qr_text, pdf = render_suket(content, key, secret)
            sukets[n] = Suket(
                uid=content.uid.hex(),
                office=office,
                year=issued_on.year,
                seq=seq,
                number=content.number,
                resident=resident,
                village_id=resident.village_id,
                regency_id=resident.regency_id,
                election=election,
                decision=record,
                reason=content.reason,
                holder=content.holder,
                issued_at=at,
                valid_from=issued_on,
                valid_until=content.valid_until,
                signer_name=content.signer_name,
                signer_nip=content.signer_nip,
                key=key,
                qr_text=qr_text,
                pdf=pdf,
                pdf_sha256=hashlib.sha256(pdf).hexdigest(),
                issued_by=_actor(acting_user),
                issued_by_label=label,
            )
    created = Suket.objects.bulk_create(list(sukets.values()))
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor=_actor(acting_user),
                actor_label=label,
                action="suket.issue",
                object_type=Suket._meta.label_lower,
                object_id=str(s.pk),
                changes={"number": [None, s.number], "reason": [None, s.reason]},
                reason=f"{election.slug}; {s.resident.masked_nik}"[:300],
            )
            for s in created
        ]
    )
    _deliver_issued(created, acting_user)
    return [
        IssueResult(resident, decision, records[n], sukets.get(n))
        for n, (resident, decision, _row) in enumerate(rows)
    ]


def reachable_residents(residents: Iterable[Resident]) -> set[int]:
    """Ids of the residents the outbox can reach by phone (WhatsApp, SMS) or e-mail. Anyone
    else takes the Suket printed at the counter (or staff send it later, e.g. as a letter)."""
    people = list(residents)
    found = {r.pk for r in people if phone_or_blank(r.phone)}
    rest = [r.pk for r in people if r.pk not in found]
    if rest:
        found |= set(
            Contact.objects.filter(resident_id__in=rest)
            .exclude(email="")
            .values_list("resident_id", flat=True)
        )
    return found


def _deliver_issued(sukets: list[Suket], acting_user: Any) -> None:
    """Hand new Sukets to the outbox in the issuing transaction: the message rows commit with
    the Sukets (or not at all) and are sent once the transaction commits."""
    from .delivery import suket_deliver  # delivery reads stored PDFs through this module

    reachable = reachable_residents(s.resident for s in sukets)
    for suket in sukets:
        if suket.resident_id in reachable:
            suket_deliver(suket=suket, acting_user=acting_user)


def suket_pdf(suket: Suket) -> bytes:
    """The stored PDF, exactly as issued (checked against its recorded SHA-256)."""
    data = bytes(suket.pdf)
    if hashlib.sha256(data).hexdigest() != suket.pdf_sha256:
        raise SuketError(f"Berkas Suket {suket.number} rusak (tidak cocok dengan sidik SHA-256).")
    return data


# Rows per revocation statement: bounds the parameters of one query on every database.
REVOKE_CHUNK = 1000


def _revoke_where(where: Q, *, reason: str, at: datetime, acting_user: Any, label: str) -> int:
    """Revoke the unrevoked Sukets ``where`` selects, with an audit entry each."""
    pks = list(
        Suket.objects.select_for_update()
        .filter(where, revoked_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(pks), REVOKE_CHUNK):
        chunk = pks[start : start + REVOKE_CHUNK]
        Suket.objects.filter(pk__in=chunk).update(revoked_at=at, revoked_reason=reason[:300])
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    actor=_actor(acting_user),
                    actor_label=label[:120],
                    action="suket.revoke",
                    object_type=Suket._meta.label_lower,
                    object_id=str(pk),
                    changes={"revoked": [False, True]},
                    reason=reason[:300],
                )
                for pk in chunk
            ]
        )
    return len(pks)


@transaction.atomic
def suket_revoke_for_residents(
    *,
    resident_ids: Iterable[int],
    reason: str,
    at: datetime | None = None,
    acting_user: Any = None,
    actor_label: str = "",
) -> int:
    """Revoke every unrevoked Suket of these residents (their cards were printed), a few
    statements per thousand residents; idempotent. Returns how many were revoked."""
    at = at or timezone.now()
    label = actor_label or _label(acting_user, "system")
    ids = sorted(set(resident_ids))
    return sum(
        _revoke_where(
            Q(resident_id__in=ids[start : start + REVOKE_CHUNK]),
            reason=reason,
            at=at,
            acting_user=acting_user,
            label=label,
        )
        for start in range(0, len(ids), REVOKE_CHUNK)
    )


def suket_revoke_for_resident(
    *, resident: Resident, reason: str, at: datetime | None = None, acting_user: Any = None
) -> int:
    """Revoke every unrevoked Suket of ``resident``; idempotent."""
    return suket_revoke_for_residents(
        resident_ids=[resident.pk], reason=reason, at=at, acting_user=acting_user
    )


@transaction.atomic
def suket_revoke(
    *, suket: Suket, reason: str, acting_user: Any, at: datetime | None = None
) -> Suket:
    """An officer withdraws one Suket (e.g. one the compliance flags show was not lawful): it
    goes on the published revocation list, so its QR stops verifying, and the holder may be
    decided for again. A supervisor or admin of the issuing office's jurisdiction may."""
    require(acting_user, Action.REVOKE_SUKET, suket.office.region_id)
    reason = reason.strip()
    if not reason:
        raise SuketError("Alasan pencabutan Suket wajib diisi.")
    at = at or timezone.now()
    revoked = _revoke_where(
        Q(pk=suket.pk),
        reason=reason,
        at=at,
        acting_user=acting_user,
        label=_label(acting_user, "system"),
    )
    if not revoked:
        raise SuketError(f"Suket {suket.number} sudah dicabut.")
    suket.revoked_at, suket.revoked_reason = at, reason[:300]
    return suket


@transaction.atomic
def suket_revoke_signed_by(
    *, key: OfficeKey, reason: str, at: datetime | None = None, acting_user: Any = None
) -> int:
    """Revoke every unrevoked Suket ``key`` signed (the key was compromised), so that the
    issuance decision lets their holders get a new one."""
    return _revoke_where(
        Q(key=key),
        reason=reason,
        at=at or timezone.now(),
        acting_user=acting_user,
        label=_label(acting_user, "system"),
    )


def election_names() -> dict[str, str]:
    """Every election's name by slug: verifiers show whose Suket they are looking at."""
    return dict(Election.objects.values_list("slug", "name"))


def revocation_list_published(now: datetime | None = None) -> dict[str, Any]:
    """The compact revocation list: sorted 8-byte hashes of revoked, still-unexpired Sukets.

    Sukets signed with a compromised key are left out: that key is no longer published, so
    they fail verification without an entry. The document also names the elections by slug,
    for the verdict to show which election a Suket is for.
    """
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    uids = Suket.objects.filter(
        revoked_at__isnull=False, valid_until__gte=today, key__compromised_at__isnull=True
    ).values_list("uid", flat=True)
    hashes = sorted(revocation_hash(bytes.fromhex(u)) for u in uids)
    return {
        "version": 1,
        "generated_at": now.isoformat(),
        "hash": "sha256",
        "hash_bytes": REVOCATION_HASH_BYTES,
        "count": len(hashes),
        "entries": base64.b64encode(b"".join(hashes)).decode(),
        "elections": election_names(),
    }


class LiveRevocations:
    """``uid in LiveRevocations()``: the database's revocation state, right now."""

    generated_at = None

    @functools.cached_property
    def elections(self) -> dict[str, str]:
        return election_names()

    def __contains__(self, uid: object) -> bool:
        if not isinstance(uid, bytes):
            return False
        return Suket.objects.filter(uid=uid.hex(), revoked_at__isnull=False).exists()

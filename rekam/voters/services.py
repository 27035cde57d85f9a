"""Decisions people make on the voter list: confirming or rejecting a candidate match."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from rekam.accounts.access import Action, require
from rekam.audit.services import audit_record
from rekam.residents.states import KtpState
from rekam.suket.models import Suket

from .models import CandidateMatch, Voter, VoterCheck, VoterClass, WorklistCount
from .signals import voter_matched


class CandidateError(Exception):
    """A decision that cannot be made; ``message`` is for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def class_for_state(ktp_state: str) -> str:
    """The class of a voter matched to a resident in ``ktp_state``."""
    if ktp_state == KtpState.CARD_PRINTED:
        return VoterClass.CARD_PRINTED
    if ktp_state == KtpState.PRINT_READY_RECORD:
        return VoterClass.PRR_NOT_PRINTED
    if ktp_state == KtpState.BELUM_REKAM:
        return VoterClass.NOT_RECORDED
    return VoterClass.RECORDED_NOT_PRR


def _locked_proposal(candidate: CandidateMatch, acting_user: Any) -> CandidateMatch:
    require(acting_user, Action.CONFIRM_MATCH, candidate.voter.regency_id)
    locked = (
        CandidateMatch.objects.select_for_update()
        .select_related("voter", "resident", "election")
        .get(pk=candidate.pk)
    )
    if locked.status != CandidateMatch.Status.PROPOSED:
        raise CandidateError(f"Kandidat ini sudah diputuskan ({locked.get_status_display()}).")
    return locked


def _move_count(check: VoterCheck, *, klass: str, ktp_state: str, suket_expiring: bool) -> None:
    """Keep the counts per TPS in step with one voter's new verdict."""
    voter = check.voter
    place = {
        "election_id": check.election_id,
        "regency_id": voter.regency_id,
        "district_id": voter.district_id,
        "village_id": voter.village_id,
        "tps": voter.tps,
        "first_time": check.first_time,
    }
    old = WorklistCount.objects.filter(
        **place,
        klass=check.klass,
        ktp_state=check.ktp_state,
        suket_expiring=check.suket_until is not None,
        voters__gt=0,
    ).first()
    if old is None:
        return  # counted by no run yet: the next run counts the voter
    WorklistCount.objects.filter(pk=old.pk).update(voters=F("voters") - 1)
    row, _ = WorklistCount.objects.get_or_create(
        **place,
        klass=klass,
        ktp_state=ktp_state,
        suket_expiring=suket_expiring,
        defaults={"voters": 0, "run_id": old.run_id},
    )
    WorklistCount.objects.filter(pk=row.pk).update(voters=F("voters") + 1)


def listed_as(candidates: Sequence[CandidateMatch]) -> dict[int, Voter]:
    """For each proposal whose resident another voter of the current list is already matched
    to (a person listed twice, not a match to confirm), that voter, by proposal id. One query
    for a whole page of proposals."""
    residents = {c.resident_id for c in candidates}
    if not residents:
        return {}
    checks = VoterCheck.objects.filter(
        election_id__in={c.election_id for c in candidates},
        resident_id__in=residents,
        voter__removed_in__isnull=True,
    ).select_related("voter")
    by_resident: dict[tuple[int, int | None], list[Voter]] = {}
    for check in checks:
        key = (check.election_id, check.resident_id)
        by_resident.setdefault(key, []).append(check.voter)
    listed: dict[int, Voter] = {}
    for c in candidates:
        others = [
            v for v in by_resident.get((c.election_id, c.resident_id), []) if v.pk != c.voter_id
        ]
        if others:
            listed[c.pk] = others[0]
    return listed


@transaction.atomic
def candidate_confirm(
    *, candidate: CandidateMatch, acting_user: Any, reason: str = ""
) -> CandidateMatch:
    """Confirm that the voter is this resident: the voter's class follows the resident's
    record from now on (and in every later reconciliation). Other proposals for the same
    voter are rejected. Recorded with who and when, and in the audit trail."""
    match = _locked_proposal(candidate, acting_user)
    now = timezone.now()
    voter, resident = match.voter, match.resident
    listed = listed_as([match]).get(match.pk)
    if listed is not None:
        raise CandidateError(
            f"{resident.name} sudah tercantum di DPT sebagai pemilih lain (NIK {listed.nik}, "
            f"TPS {listed.tps}): pemilih ini kemungkinan terdaftar ganda. Tolak kandidat ini "
            "dan laporkan ke KPU."
        )
    match.status = CandidateMatch.Status.CONFIRMED
    match.decided_by = acting_user
    match.decided_at = now
    match.reason = reason[:300]
    match.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    others = CandidateMatch.objects.filter(
        voter=voter, status=CandidateMatch.Status.PROPOSED
    ).exclude(pk=match.pk)
    others.update(
        status=CandidateMatch.Status.REJECTED,
        decided_by=acting_user,
        decided_at=now,
        reason="kandidat lain sudah dikonfirmasi",
    )
    check = VoterCheck.objects.select_related("voter").filter(voter=voter).first()
    if check is not None:
        klass = class_for_state(resident.ktp_state)
        until = Suket.objects.filter(resident=resident, revoked_at__isnull=True).aggregate(
            last=Max("valid_until")
        )["last"]
        expiring = (
            until is not None
            and until < match.election.polling_day
            and klass != VoterClass.CARD_PRINTED
        )
        _move_count(check, klass=klass, ktp_state=resident.ktp_state, suket_expiring=expiring)
        voter_matched.send(
            sender=VoterCheck,
            election=match.election,
            voter=voter,
            ktp_state=resident.ktp_state,
            old_state=check.ktp_state,
        )
        VoterCheck.objects.filter(pk=check.pk).update(
            klass=klass,
            ktp_state=resident.ktp_state,
            resident=resident,
            via_match=True,
            suket_until=until if expiring else None,
        )
    audit_record(
        acting_user=acting_user,
        action="voter.match_confirm",
        obj=match,
        changes={
            "status": [CandidateMatch.Status.PROPOSED, CandidateMatch.Status.CONFIRMED],
            "voter_nik": [None, voter.nik],
            "resident_nik": [None, resident.nik],
        },
        reason=reason,
    )
    return match


@transaction.atomic
def candidate_reject(
    *, candidate: CandidateMatch, acting_user: Any, reason: str = ""
) -> CandidateMatch:
    """Record that the resident is not the voter; the pair is never proposed again."""
    match = _locked_proposal(candidate, acting_user)
    match.status = CandidateMatch.Status.REJECTED
    match.decided_by = acting_user
    match.decided_at = timezone.now()
    match.reason = reason[:300]
    match.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    audit_record(
        acting_user=acting_user,
        action="voter.match_reject",
        obj=match,
        changes={"status": [CandidateMatch.Status.PROPOSED, CandidateMatch.Status.REJECTED]},
        reason=reason,
    )
    return match

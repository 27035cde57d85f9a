"""What a resident may come for at a service point: the services their KTP-el record allows
and the Suket the rules would issue now. The online booking and the gate ask the same
questions here, so neither offers what the counter would refuse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from rekam.accounts.models import Office
from rekam.elections.models import Election
from rekam.residents.models import Resident
from rekam.residents.states import RECORDABLE_STATES, KtpState
from rekam.servicepoints.models import Service
from rekam.suket.rules import Reason as SuketReason
from rekam.suket.services import suket_decide


def services_for_state(state: str, *, suket: bool = False) -> set[str]:
    """The services a resident whose KTP-el record is in ``state`` may book: recording until
    biometrics are captured (or again after a failure), printing once print ready, a Suket when
    the Suket rules allow one now (``suket``: :func:`suket_offer`; the counter still decides),
    and the other services always."""
    wanted = {Service.OTHER.value}
    if state in RECORDABLE_STATES:
        wanted.add(Service.RECORDING)
    if state == KtpState.PRINT_READY_RECORD:
        wanted.add(Service.PRINTING)
    if suket:
        wanted.add(Service.SUKET)
    return wanted


@dataclass(frozen=True)
class SuketOffer:
    """An election whose Suket the resident may come for now, by the Suket rules."""

    election: Election
    needs_approval: bool  # a duplicate record: a supervisor decides at the office


def suket_offer(resident: Resident, now: datetime) -> SuketOffer | None:
    """The election (Suket window open) whose Suket ``resident`` may come for: the Suket rules
    decide (:func:`rekam.suket.services.suket_decide`, nothing recorded) region, window, age and
    record, so that the page never offers what the counter would refuse. A duplicate record
    waiting for a supervisor's approval is offered too: the approval is given at the office."""
    today = timezone.localdate(now)
    for election in Election.objects.filter(suket_issue_until__gte=today).order_by(
        "suket_issue_until", "pk"
    ):
        try:
            decision = suket_decide(resident=resident, election=election, at=now, record=False)
        except Office.DoesNotExist:
            return None  # no office holds the resident's regency/city: nobody could issue it
        needs_approval = decision.decision.reason == SuketReason.PERLU_PERSETUJUAN
        if decision.decision.allows_suket or needs_approval:
            return SuketOffer(election, needs_approval)
    return None

"""KTP-el record states (as the central system SIAK reports them) and the allowed moves.

The table below is the only source of truth for which move is allowed and who may make it:
the office (biometric capture, re-recording after a failure, printing) or the central system
(everything between sending and print-ready). Services, imports, the simulator and templates
all read it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class KtpState(models.TextChoices):
    BELUM_REKAM = "BELUM_REKAM", _("Not recorded")
    BIO_CAPTURED = "BIO_CAPTURED", _("Biometrics captured")
    SENT_FOR_ENROLLMENT = "SENT_FOR_ENROLLMENT", _("Sent to the data centre")
    RECEIVED_AT_CENTRAL = "RECEIVED_AT_CENTRAL", _("Deduplication running")
    ENROLL_FAILURE = "ENROLL_FAILURE", _("Enrolment failed: record again")
    SEARCH_FAILURE = "SEARCH_FAILURE", _("Search failed: record again")
    ADJUDICATE_RECORD = "ADJUDICATE_RECORD", _("Awaiting adjudication")
    DUPLICATE_RECORD = "DUPLICATE_RECORD", _("Duplicate record")
    PRINT_READY_RECORD = "PRINT_READY_RECORD", _("Print ready (PRR)")
    CARD_PRINTED = "CARD_PRINTED", _("Card printed")


class MoveSource(models.TextChoices):
    OFFICE = "office", _("Office")
    CENTRAL = "central", _("Central system (SIAK)")


S = KtpState
OFF = frozenset({MoveSource.OFFICE})
CEN = frozenset({MoveSource.CENTRAL})
# A card printed at another office reaches us from the central system.
ANY = OFF | CEN

# from state -> {to state: who may make the move}. The central system reports snapshots, so
# it may skip states it passed through between two exports (e.g. SENT -> PRR).
ALLOWED_MOVES: dict[str, dict[str, frozenset[str]]] = {
    S.BELUM_REKAM: {S.BIO_CAPTURED: OFF},
    S.BIO_CAPTURED: {
        S.SENT_FOR_ENROLLMENT: CEN,
        S.RECEIVED_AT_CENTRAL: CEN,
        S.ENROLL_FAILURE: CEN,
        S.SEARCH_FAILURE: CEN,
        S.ADJUDICATE_RECORD: CEN,
        S.DUPLICATE_RECORD: CEN,
        S.PRINT_READY_RECORD: CEN,
    },
    S.SENT_FOR_ENROLLMENT: {
        S.RECEIVED_AT_CENTRAL: CEN,
        S.ENROLL_FAILURE: CEN,
        S.SEARCH_FAILURE: CEN,
        S.ADJUDICATE_RECORD: CEN,
        S.DUPLICATE_RECORD: CEN,
        S.PRINT_READY_RECORD: CEN,
    },
    S.RECEIVED_AT_CENTRAL: {
        S.ENROLL_FAILURE: CEN,
        S.SEARCH_FAILURE: CEN,
        S.ADJUDICATE_RECORD: CEN,
        S.DUPLICATE_RECORD: CEN,
        S.PRINT_READY_RECORD: CEN,
    },
    S.ENROLL_FAILURE: {S.BIO_CAPTURED: OFF},
    S.SEARCH_FAILURE: {S.BIO_CAPTURED: OFF},
    S.ADJUDICATE_RECORD: {S.PRINT_READY_RECORD: CEN, S.DUPLICATE_RECORD: CEN},
    S.DUPLICATE_RECORD: {S.PRINT_READY_RECORD: CEN},
    S.PRINT_READY_RECORD: {S.CARD_PRINTED: ANY},
    S.CARD_PRINTED: {},
}

# States in which biometrics exist (a Suket may be considered; see the Suket rules).
RECORDED_STATES = frozenset(set(KtpState.values) - {S.BELUM_REKAM})
# Recorded but waiting on the central system.
AWAITING_CENTRAL_STATES = frozenset(
    {S.BIO_CAPTURED, S.SENT_FOR_ENROLLMENT, S.RECEIVED_AT_CENTRAL, S.ADJUDICATE_RECORD}
)
NEEDS_RECORDING_AGAIN = frozenset({S.ENROLL_FAILURE, S.SEARCH_FAILURE})
# States an office's recording (biometrics captured) moves a record out of.
RECORDABLE_STATES = frozenset(
    state
    for state, moves in ALLOWED_MOVES.items()
    if MoveSource.OFFICE in moves.get(S.BIO_CAPTURED, ())
)


def move_sources(from_state: str, to_state: str) -> frozenset[str]:
    """Who may move a record from ``from_state`` to ``to_state`` (empty: nobody may)."""
    return ALLOWED_MOVES.get(from_state, {}).get(to_state, frozenset())


# Office moves that are more than a state change: printing consumes a blank card and records its
# serial, so an office makes it only through the printing service (rekam.suket.stock.card_print).
PRINTING_MOVES = frozenset({(S.PRINT_READY_RECORD, S.CARD_PRINTED)})


def office_moves(from_state: str) -> list[str]:
    """The plain moves an office may make from ``from_state`` (buttons on the resident page)."""
    return [
        to
        for to, src in ALLOWED_MOVES.get(from_state, {}).items()
        if MoveSource.OFFICE in src and (from_state, to) not in PRINTING_MOVES
    ]

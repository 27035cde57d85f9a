"""The issuance decision: print the card, issue a Suket (with its reason), or refuse.

This is the one place the rules of domain.md section 6 (R2, R6, R8) live. :func:`decide` is a
pure function of :class:`DecisionInputs`, so the table-driven test can cover every branch and
``rekam suket_decide`` can show exactly what an answer was based on. The order of the checks
is the order of the rules: the election's reach first (region, window), then the person (a
Suket stands in for a KTP-el, so only for someone who must hold one on polling day), then the
record.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from django.db import models

from rekam.residents.eligibility import KTP_AGE, must_hold_ktp
from rekam.residents.states import KtpState

from .models import Outcome


class Reason(models.TextChoices):
    # Suket allowed
    BELUM_PRR = "BELUM_PRR", "Perekaman belum mencapai PRR"
    BLANKO_HABIS = "BLANKO_HABIS", "Blangko KTP-el habis"
    KENDALA_TEKNIS = "KENDALA_TEKNIS", "Kendala teknis pencetakan"
    # Print
    CETAK = "CETAK", "KTP-el dapat dicetak"
    # Refused
    BUKAN_WILAYAH = "BUKAN_WILAYAH", "Bukan penduduk wilayah pemilihan"
    LEWAT_BATAS = "LEWAT_BATAS", "Lewat batas penerbitan Suket"
    BELUM_WAJIB_KTP = "BELUM_WAJIB_KTP", "Belum wajib memiliki KTP-el pada hari pemungutan suara"
    BELUM_REKAM = "BELUM_REKAM", "Belum melakukan perekaman"
    SUDAH_CETAK = "SUDAH_CETAK", "KTP-el sudah dicetak"
    PERLU_PERSETUJUAN = "PERLU_PERSETUJUAN", "Data ganda: perlu persetujuan supervisor"
    SUDAH_ADA = "SUDAH_ADA", "Suket untuk pemilihan ini sudah terbit"


@dataclass(frozen=True)
class DecisionInputs:
    """Everything the decision depends on; stored with every decision."""

    ktp_state: str
    resident_regency: str
    election: str  # slug
    election_regencies: tuple[str, ...]
    issue_until: date
    valid_until: date
    today: date  # the moment's date in the office's time zone
    birth_date: date
    marital_status: str
    polling_day: date
    blanks: int
    printer_working: bool
    duplicate_approved: bool = False
    active_suket: str = ""  # number of a valid Suket already issued for this election

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        for key in ("issue_until", "valid_until", "today", "birth_date", "polling_day"):
            data[key] = data[key].isoformat()
        data["election_regencies"] = list(self.election_regencies)
        return data


@dataclass(frozen=True)
class Decision:
    outcome: str  # Outcome
    reason: str  # Reason
    message: str  # for the person, in Indonesian
    valid_until: date | None = None  # for SUKET: the end of the Suket's validity

    @property
    def allows_suket(self) -> bool:
        return self.outcome == Outcome.SUKET


def _print(message: str) -> Decision:
    return Decision(Outcome.PRINT, Reason.CETAK, message)


def _refuse(reason: Reason, message: str) -> Decision:
    return Decision(Outcome.REFUSE, reason, message)


def decide(i: DecisionInputs) -> Decision:
    """PRINT, SUKET (reason BELUM_PRR, BLANKO_HABIS or KENDALA_TEKNIS) or REFUSE (reason)."""
    if i.resident_regency not in i.election_regencies:
        return _refuse(
            Reason.BUKAN_WILAYAH,
            "Suket hanya untuk penduduk kabupaten/kota yang menyelenggarakan pemilihan ini.",
        )
    if i.today > i.issue_until:
        return _refuse(
            Reason.LEWAT_BATAS,
            f"Suket untuk pemilihan ini hanya diterbitkan sampai {i.issue_until:%d-%m-%Y}.",
        )
    if not must_hold_ktp(
        birth_date=i.birth_date, marital_status=i.marital_status, on=i.polling_day
    ):
        return _refuse(
            Reason.BELUM_WAJIB_KTP,
            f"Penduduk belum wajib memiliki KTP-el pada hari pemungutan suara "
            f"{i.polling_day:%d-%m-%Y} (belum berumur {KTP_AGE} tahun dan belum pernah kawin); "
            "Suket tidak dapat diterbitkan.",
        )
    state = i.ktp_state
    if state == KtpState.BELUM_REKAM:
        return _refuse(
            Reason.BELUM_REKAM,
            "Penduduk belum melakukan perekaman KTP-el; Suket tidak dapat diterbitkan.",
        )
    if state == KtpState.CARD_PRINTED:
        return _refuse(Reason.SUDAH_CETAK, "KTP-el penduduk sudah dicetak; Suket tidak diperlukan.")
    if state == KtpState.PRINT_READY_RECORD:
        if i.blanks > 0 and i.printer_working:
            return _print(
                "Data sudah PRR dan blangko tersedia: KTP-el dicetak di tempat, Suket tidak boleh "
                "diterbitkan."
            )
        reason = Reason.BLANKO_HABIS if i.blanks <= 0 else Reason.KENDALA_TEKNIS
    elif state == KtpState.DUPLICATE_RECORD and not i.duplicate_approved:
        return _refuse(
            Reason.PERLU_PERSETUJUAN,
            "Data penduduk terdeteksi ganda; Suket memerlukan persetujuan supervisor.",
        )
    else:
        reason = Reason.BELUM_PRR
    if i.active_suket:
        return _refuse(
            Reason.SUDAH_ADA,
            f"Suket nomor {i.active_suket} untuk pemilihan ini sudah terbit dan masih berlaku; "
            "cetak ulang dari dokumen yang tersimpan.",
        )
    return Decision(
        Outcome.SUKET,
        reason,
        f"Suket dapat diterbitkan ({Reason(reason).label}), berlaku sampai "
        f"{i.valid_until:%d-%m-%Y}.",
        valid_until=i.valid_until,
    )

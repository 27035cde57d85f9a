"""Importing the population registry (a SIAK extract) from CSV or XLSX.

Rules: every row read is either accepted (created, updated or unchanged) or rejected with its
line number and a reason in Indonesian; a bad row never stops the import; re-running the same
file changes nothing. Existing residents are updated with an audit entry holding old and new
values; a different KTP-el state is a central move and goes through the move table (stamped
with the import's own clock: the file carries no time for it), and each chunk's moves are
announced with :data:`~rekam.residents.signals.records_moved` before the chunk commits.

The work is split in two so that a million rows import in about a minute on two cores (see
docs/benchmarks.md): :class:`RowParser` turns a raw row into database values (pure Python, no
queries; region lookups are cached), in a second process for large files, and
:class:`_Writer` stores a chunk of parsed rows with a few set-based statements (COPY on
PostgreSQL, ``executemany`` on SQLite) in one transaction per chunk.
"""

from __future__ import annotations

import multiprocessing
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import astuple, dataclass, field
from datetime import date
from pathlib import Path
from queue import Empty
from typing import Any, NamedTuple

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg import errors as psycopg_errors

from rekam.accounts.access import OUTSIDE_JURISDICTION, Action, can, require
from rekam.audit.models import AuditEntry
from rekam.audit.services import diff_fields
from rekam.lib.dates import DateError, parse_date
from rekam.lib.nik import NikError, clean_kk, parse_nik
from rekam.lib.progress import progress_bar
from rekam.lib.tabular import (
    NOTHING_ACCEPTED,
    REJECTED,
    WARNING,
    ReportWriter,
    RowIssue,
    Table,
    TabularError,
    nothing_accepted,
    open_table,
)
from rekam.regions.models import Level, Region

from .central import FileCentralSystem, apply_updates, outside_jurisdiction, parse_ktp_state
from .models import (
    Citizenship,
    ImportBatch,
    MaritalStatus,
    RecordEvent,
    Religion,
    Resident,
    name_key,
)
from .services import MoveRefused, check_move
from .signals import records_moved_send, residents_relocated
from .states import KtpState, MoveSource

# canonical column -> accepted header spellings (compared case-insensitively, with spaces,
# underscores and dots folded; see rekam.lib.tabular.fold_header).
REGISTRY_COLUMNS: dict[str, tuple[str, ...]] = {
    "nik": ("nik", "no_nik", "nomor_nik", "nomor_induk_kependudukan"),
    "kk_number": (
        "no_kk",
        "nkk",
        "nomor_kk",
        "kk",
        "no_kartu_keluarga",
        "nomor_kartu_keluarga",
    ),
    "name": ("nama", "name", "nama_lengkap", "nama_penduduk"),
    "birth_place": ("tempat_lahir", "tmpt_lahir", "tempat_lhr", "birth_place"),
    "birth_date": ("tanggal_lahir", "tgl_lahir", "tgl_lhr", "tanggal_lhr", "birth_date"),
    "sex": ("jenis_kelamin", "jk", "kelamin", "l_p", "sex"),
    "religion": ("agama", "religion"),
    "marital_status": (
        "status_perkawinan",
        "status_kawin",
        "sts_kawin",
        "perkawinan",
        "marital_status",
    ),
    "occupation": ("pekerjaan", "jenis_pekerjaan", "occupation"),
    "citizenship": ("kewarganegaraan", "warga_negara", "wni_wna", "citizenship"),
    "street": ("alamat", "alamat_lengkap", "jalan", "address", "street"),
    "rt": ("rt", "no_rt"),
    "rw": ("rw", "no_rw"),
    "village_code": (
        "kode_desa",
        "kode_kelurahan",
        "kode_desa_kelurahan",
        "kode_kel_desa",
        "kode_wilayah",
        "village_code",
    ),
    "phone": (
        "telepon",
        "telp",
        "no_telp",
        "no_telepon",
        "nomor_telepon",
        "hp",
        "no_hp",
        "nomor_hp",
        "no_wa",
        "whatsapp",
        "phone",
    ),
    "ktp_state": (
        "status_ktp",
        "status_ktp_el",
        "status_ektp",
        "status_rekam",
        "status_perekaman",
        "ktp_state",
    ),
}
REQUIRED_COLUMNS = ("nik", "name", "birth_date", "sex", "village_code")

# Resident columns an import writes, in the order of a parsed record. ``None`` in a record
# means "not in the file": a new resident gets the default, an existing one keeps its value.
FIELDS = (
    "nik",
    "kk_number",
    "name",
    "name_key",
    "birth_place",
    "birth_date",
    "sex",
    "religion",
    "marital_status",
    "occupation",
    "citizenship",
    "village_id",
    "regency_id",
    "rt",
    "rw",
    "street",
    "phone",
)
# Values of a new resident for columns the file leaves empty.
_NEW_DEFAULTS = {
    "kk_number": "",
    "birth_place": "",
    "religion": "",
    "marital_status": MaritalStatus.SINGLE.value,
    "occupation": "",
    "citizenship": Citizenship.WNI.value,
    "rt": "",
    "rw": "",
    "street": "",
    "phone": "",
}
DEFAULTS = tuple(_NEW_DEFAULTS.get(f) for f in FIELDS)
_IDX = {f: i for i, f in enumerate(FIELDS)}
_I_NIK, _I_KK, _I_NAME, _I_NAME_KEY = (_IDX[f] for f in ("nik", "kk_number", "name", "name_key"))
_I_BIRTH_DATE, _I_SEX, _I_PHONE = (_IDX[f] for f in ("birth_date", "sex", "phone"))
_I_VILLAGE, _I_REGENCY = _IDX["village_id"], _IDX["regency_id"]
# Fields shown in audit entries (derived ones, name_key and regency, are left out).
_AUDITED = [
    (f, "village" if f == "village_id" else f)
    for f in FIELDS
    if f not in {"nik", "name_key", "regency_id"}
]

_MAX_LEN = {
    "name": 150,
    "birth_place": 100,
    "occupation": 100,
    "street": 200,
}
_LABELS = {
    "name": "nama",
    "birth_place": "tempat lahir",
    "occupation": "pekerjaan",
    "street": "alamat",
}
_TEXT_FIELDS = [(_IDX[f], f) for f in ("birth_place", "occupation", "street")]


def spelling_key(text: str) -> str:
    return " ".join(re.sub(r"[_\-./]+", " ", text).upper().split())


SEX_SPELLINGS = {
    **dict.fromkeys(["L", "LK", "LAKI LAKI", "LAKI", "PRIA", "M", "MALE"], "L"),
    **dict.fromkeys(["P", "PR", "PEREMPUAN", "WANITA", "W", "F", "FEMALE"], "P"),
}
MARITAL_SPELLINGS = {
    **dict.fromkeys(
        ["BELUM KAWIN", "BELUM MENIKAH", "TIDAK KAWIN", "LAJANG", "SINGLE"],
        MaritalStatus.SINGLE.value,
    ),
    **dict.fromkeys(
        [
            "KAWIN",
            "MENIKAH",
            "SUDAH KAWIN",
            "SUDAH MENIKAH",
            "KAWIN TERCATAT",
            "KAWIN BELUM TERCATAT",
            "KAWIN TIDAK TERCATAT",
            "MARRIED",
        ],
        MaritalStatus.MARRIED.value,
    ),
    **dict.fromkeys(["CERAI HIDUP", "CERAI", "DIVORCED"], MaritalStatus.DIVORCED.value),
    **dict.fromkeys(["CERAI MATI", "WIDOWED"], MaritalStatus.WIDOWED.value),
}
_RELIGION = {
    **dict.fromkeys(["ISLAM", "MUSLIM"], Religion.ISLAM.value),
    **dict.fromkeys(["KRISTEN", "PROTESTAN", "KRISTEN PROTESTAN"], Religion.KRISTEN.value),
    **dict.fromkeys(["KATOLIK", "KATHOLIK", "KRISTEN KATOLIK"], Religion.KATOLIK.value),
    "HINDU": Religion.HINDU.value,
    **dict.fromkeys(["BUDDHA", "BUDHA"], Religion.BUDDHA.value),
    **dict.fromkeys(
        ["KONGHUCU", "KHONGHUCU", "KONG HU CU", "KHONG HU CU"], Religion.KONGHUCU.value
    ),
    **dict.fromkeys(
        [
            "KEPERCAYAAN",
            "PENGHAYAT KEPERCAYAAN",
            "ALIRAN KEPERCAYAAN",
            "KEPERCAYAAN TERHADAP TUHAN YME",
            "KEPERCAYAAN TERHADAP TUHAN YANG MAHA ESA",
        ],
        Religion.KEPERCAYAAN.value,
    ),
}
_CITIZENSHIP = {
    **dict.fromkeys(["WNI", "INDONESIA", "WARGA NEGARA INDONESIA"], Citizenship.WNI.value),
    **dict.fromkeys(["WNA", "ASING", "WARGA NEGARA ASING"], Citizenship.WNA.value),
}


_CODED_FIELDS = [
    (_IDX["religion"], "religion", _RELIGION, "agama"),
    (_IDX["marital_status"], "marital_status", MARITAL_SPELLINGS, "status perkawinan"),
    (_IDX["citizenship"], "citizenship", _CITIZENSHIP, "kewarganegaraan"),
]
_NUMBERED_FIELDS = [(_IDX["rt"], "rt", "RT"), (_IDX["rw"], "rw", "RW")]


# --- phone numbers -------------------------------------------------------------------------

_ID_META = phonenumbers.PhoneMetadata.metadata_for_region("ID")
assert _ID_META is not None and _ID_META.mobile is not None and _ID_META.general_desc is not None
_MOBILE_LENGTHS = frozenset(
    _ID_META.mobile.possible_length or _ID_META.general_desc.possible_length or ()
)
# A mobile number after +62, 62 or 0, checked against libphonenumber's own Indonesian patterns
# (the general one as a lookahead): exactly what is_valid_number says for these numbers.
_MOBILE = re.compile(
    rf"(?:\+62|62|0)(?=(?:{_ID_META.general_desc.national_number_pattern})$)"
    rf"({_ID_META.mobile.national_number_pattern})"
)
_PHONE_JUNK = str.maketrans("", "", " \u00a0-.()/")


def normalise_phone(raw: object) -> str | None:
    """An Indonesian phone number in E.164 (``+62...``), or None if it is not valid.

    A mobile number in the usual spellings (``0812...``, ``62812...``, ``+62 812-...``) is
    checked with one regular expression built from libphonenumber's metadata; anything else
    gets libphonenumber's full parse (about 16 µs, too slow for every row of a million).
    """
    if isinstance(raw, float):
        return None  # a spreadsheet number has lost its leading zero and maybe digits
    text = raw if isinstance(raw, str) else str(raw)
    m = _MOBILE.fullmatch(text)
    if m is None:
        text = text.strip().lstrip("'").translate(_PHONE_JUNK)
        m = _MOBILE.fullmatch(text)
    if m is not None and len(m[1]) in _MOBILE_LENGTHS:
        return "+62" + m[1]
    try:
        number = phonenumbers.parse(str(raw).strip().lstrip("'"), "ID")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164 if len(e164) <= 16 else None


# --- parsing rows ----------------------------------------------------------------------------


class ParsedRow(NamedTuple):
    line: int
    nik: str
    # Database values in FIELDS order (None: not in the file).
    values: tuple[Any, ...]
    ktp_state: str | None
    warnings: list[str]


@dataclass
class RegionCache:
    """Villages and current kecamatan codes, loaded once per import."""

    # "18.71.01.1003" and "1871011003" -> ("18.71.01.1003", "18.71")
    villages: dict[str, tuple[str, str]]
    # "187101" for every current kecamatan
    districts: frozenset[str]

    @classmethod
    def load(cls) -> RegionCache:
        villages: dict[str, tuple[str, str]] = {}
        rows = Region.objects.filter(level=Level.VILLAGE).values_list("code", "parent__parent_id")
        for code, regency in rows:
            villages[code] = villages[code.replace(".", "")] = (code, str(regency))
        districts = frozenset(
            c.replace(".", "")
            for c in Region.objects.filter(level=Level.DISTRICT).values_list("code", flat=True)
        )
        return cls(villages=villages, districts=districts)


_CACHE_LIMIT = 100_000


class RowParser:
    """Turns one raw row into database values or reasons for rejection. No queries."""

    def __init__(
        self,
        regions: RegionCache,
        *,
        today: date | None = None,
    ) -> None:
        self.regions = regions
        self.today = today or timezone.localdate()
        # Values repeat a lot across a registry (dates, spellings, a household's KK number):
        # each is parsed once; the caches are emptied when odd files make them grow too big.
        self._dates: dict[Any, date | str] = {}
        self._codes: dict[tuple[str, Any], str | None] = {}
        self._kks: dict[Any, tuple[str | None, str]] = {}

    def _coded(self, table: Mapping[str, str], kind: str, raw: Any) -> str | None:
        cache_key = (kind, raw)
        try:
            return self._codes[cache_key]
        except KeyError:
            pass
        value = table.get(spelling_key(str(raw)))
        self._remember(cache_key, value)
        return value

    def _remember(self, cache_key: tuple[str, Any], value: str | None) -> None:
        if len(self._codes) > _CACHE_LIMIT:
            self._codes.clear()
        self._codes[cache_key] = value

    def _kk(self, raw: Any) -> tuple[str | None, str]:
        """The KK number, or None and the reason; members of a household share one."""
        try:
            return self._kks[raw]
        except KeyError:
            pass
        if len(self._kks) > _CACHE_LIMIT:
            self._kks.clear()
        try:
            found: tuple[str | None, str] = (clean_kk(raw), "")
        except NikError as exc:
            found = (None, exc.message)
        self._kks[raw] = found
        return found

    def _numbered(self, label: str, raw: Any) -> str | None:
        """An RT or RW number as three digits ("RT 01" -> "001"), or None."""
        cache_key = (label, raw)
        try:
            return self._codes[cache_key]
        except KeyError:
            pass
        text = str(raw).strip().upper().removeprefix(label).strip(" .:")
        value = text.lstrip("0").zfill(3) if text.isdigit() and len(text.lstrip("0")) <= 3 else None
        self._remember(cache_key, value)
        return value

    def _state(self, raw: Any) -> str | None:
        cache_key = ("state", raw)
        try:
            return self._codes[cache_key]
        except KeyError:
            pass
        state = parse_ktp_state(raw)
        self._remember(cache_key, state)
        return state

    def _date(self, raw: Any) -> date | str:
        """The date, or the reason it is refused."""
        try:
            return self._dates[raw]
        except KeyError:
            pass
        value: date | str
        try:
            value = parse_date(raw, label="tanggal lahir")
        except DateError as exc:
            value = exc.message
        else:
            if value > self.today:
                value = f"tanggal lahir di masa depan ({raw})"
        if len(self._dates) > _CACHE_LIMIT:
            self._dates.clear()
        self._dates[raw] = value
        return value

    def parse(self, line: int, row: Mapping[str, Any]) -> ParsedRow | RowIssue:
        errors: list[str] = []
        warnings: list[str] = []
        values: list[Any] = [None] * len(FIELDS)
        get = row.get

        birth = self._date(get("birth_date", ""))
        if isinstance(birth, str):
            errors.append(birth)
            birth_date = None
        else:
            birth_date = birth
            values[_I_BIRTH_DATE] = birth
        raw_sex = get("sex", "")
        sex = self._coded(SEX_SPELLINGS, "sex", raw_sex) if raw_sex != "" else None
        if sex is None:
            errors.append(
                f"jenis kelamin tidak dikenali ({raw_sex})"
                if raw_sex != ""
                else "jenis kelamin kosong"
            )
        values[_I_SEX] = sex

        raw_nik = get("nik", "")
        nik = ""
        try:
            info = parse_nik(
                raw_nik, known_districts=self.regions.districts, birth_date=birth_date, sex=sex
            )
        except NikError as exc:
            errors.insert(0, exc.message)
            nik = str(raw_nik).strip()
        else:
            nik = info.nik
            if info.warnings:
                warnings.extend(info.warnings)
        values[_I_NIK] = nik

        name = get("name", "")
        name = " ".join(str(name).split()) if name != "" else ""
        if not name:
            errors.append("nama kosong")
        elif len(name) > 150:
            warnings.append("nama lebih dari 150 karakter; dipotong")
            name = name[:150]
        values[_I_NAME] = name
        values[_I_NAME_KEY] = name_key(name)

        raw_village = get("village_code", "")
        if isinstance(raw_village, float) and raw_village.is_integer():
            raw_village = int(raw_village)
        village = self.regions.villages.get(str(raw_village).strip())
        if village is None:
            errors.append(
                f"kode desa/kelurahan tidak dikenal ({raw_village})"
                if raw_village != ""
                else "kode desa/kelurahan kosong"
            )
        else:
            values[_I_VILLAGE], values[_I_REGENCY] = village

        if errors:
            return RowIssue(line, nik, REJECTED, "; ".join(errors))

        raw = get("kk_number", "")
        if raw != "":
            kk = self._kk(raw)
            if kk[0] is None:
                warnings.append(f"{kk[1]}; Nomor KK tidak diimpor")
            values[_I_KK] = kk[0]
        for i, f in _TEXT_FIELDS:
            raw = get(f, "")
            if raw != "":
                text = " ".join(str(raw).split())
                limit = _MAX_LEN[f]
                if len(text) > limit:
                    warnings.append(f"{_LABELS[f]} lebih dari {limit} karakter; dipotong")
                    text = text[:limit]
                values[i] = text
        for i, f, table, label in _CODED_FIELDS:
            raw = get(f, "")
            if raw != "":
                values[i] = self._coded(table, f, raw)
                if values[i] is None:
                    warnings.append(f"{label} tidak dikenali ({raw}); tidak diimpor")
        for i, f, label in _NUMBERED_FIELDS:
            raw = get(f, "")
            if raw != "":
                values[i] = self._numbered(label, raw)
                if values[i] is None:
                    warnings.append(f"{label} tidak sah ({raw}); tidak diimpor")
        raw = get("phone", "")
        if raw != "":
            phone = normalise_phone(raw)
            if phone is None:
                warnings.append(f"nomor telepon tidak sah ({raw}); tidak diimpor")
            values[_I_PHONE] = phone
        state = None
        raw = get("ktp_state", "")
        if raw != "":
            state = self._state(raw)
            if state is None:
                warnings.append(f"status KTP-el tidak dikenali ({raw}); tidak diimpor")
        return ParsedRow(line, nik, tuple(values), state, warnings)


# --- writing chunks --------------------------------------------------------------------------


@dataclass
class ImportResult:
    batch: ImportBatch
    report_path: Path
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    # Of the rejected: rows of a regency/city outside the acting user's jurisdiction.
    outside_jurisdiction: int = 0
    warnings: int = 0
    moves: int = 0
    dry_run: bool = False
    issues: list[RowIssue] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged


_TABLE = Resident._meta.db_table
_EVENTS = RecordEvent._meta.db_table
_INSERT_COLUMNS = (
    *FIELDS,
    "whatsapp_consent",
    "whatsapp_consent_source",
    "ktp_state",
    "ktp_state_at",
    "import_batch_id",
    "created_at",
    "updated_at",
)
_EVENT_COLUMNS = (
    "resident_id",
    "from_state",
    "to_state",
    "at",
    "recorded_at",
    "source",
    "actor_id",
    "actor_label",
    "reason",
)


class _Writer:
    """Stores chunks of parsed rows; one transaction per chunk."""

    def __init__(
        self,
        *,
        batch: ImportBatch,
        acting_user: Any,
        label: str,
        result: ImportResult,
    ) -> None:
        self.batch = batch
        self.user = acting_user
        self.user_id = getattr(acting_user, "pk", None)
        self.label = label
        self.result = result
        self.postgres = connection.vendor == "postgresql"
        ops = connection.ops
        self.adapt_dt = ops.adapt_datetimefield_value
        self.refusals: dict[str, str] = {}  # regency -> why its rows are refused ("": not)

    def refusal(self, regency: str | None, *, named: bool = True) -> str:
        """Why a row in this regency/city is refused (outside the jurisdiction), or "".

        ``named``: the regency/city comes from the file itself, so the reason may name it; a
        stored resident's regency is never named (the registry of another regency/city cannot
        be probed through an import)."""
        if self.user is None or not regency:
            return ""
        refused = self.refusals.get(regency)
        if refused is None:
            ok = can(self.user, Action.IMPORT_REGISTRY, regency)
            refused = self.refusals[regency] = "" if ok else outside_jurisdiction(regency)
        if not refused:
            return ""
        return refused if named else OUTSIDE_JURISDICTION

    def _existing(self, cursor: Any, niks: list[str]) -> dict[str, tuple[Any, ...]]:
        """NIK -> ``(id, *FIELDS values, ktp_state)`` of the residents already stored."""
        cols = ", ".join(("id", *FIELDS, "ktp_state"))
        if self.postgres:
            cursor.execute(f"SELECT {cols} FROM {_TABLE} WHERE nik = ANY(%s)", [niks])
        else:
            marks = ", ".join(["%s"] * len(niks))
            cursor.execute(f"SELECT {cols} FROM {_TABLE} WHERE nik IN ({marks})", niks)
        return {row[1]: row for row in cursor.fetchall()}

    def write(self, rows: list[ParsedRow]) -> list[RowIssue]:
        """Store ``rows`` (valid, NIKs unique) in one transaction; returns their issues."""
        issues: list[RowIssue] = []
        if not rows:
            return issues
        now = timezone.now()
        now_db = self.adapt_dt(now)
        batch_id = self.batch.pk
        new: list[list[Any]] = []
        new_states: dict[int, str] = {}  # index in ``new`` -> state given in the file
        initial = KtpState.BELUM_REKAM.value
        updates: list[tuple[Any, ...]] = []
        relocated: list[int] = []  # residents the file moves to another village
        audits: list[AuditEntry] = []
        events: list[tuple[Any, ...]] = []
        result = self.result
        # In NIK order, inserts into the NIK index touch neighbouring pages (~25 % faster).
        rows = sorted(rows, key=lambda r: r.nik)
        with transaction.atomic(), connection.cursor() as cursor:
            existing = self._existing(cursor, [r.nik for r in rows])
            for row in rows:
                values = row.values
                old = existing.get(row.nik)
                if old is None:
                    refusal = self.refusal(values[_I_REGENCY])
                    if refusal:
                        result.outside_jurisdiction += 1
                        issues.append(RowIssue(row.line, row.nik, REJECTED, refusal))
                        continue
                    full = [d if v is None else v for v, d in zip(values, DEFAULTS, strict=True)]
                    full += (False, "", row.ktp_state or initial, None, batch_id, now_db, now_db)
                    new.append(full)
                    if row.ktp_state:
                        new_states[len(new) - 1] = row.ktp_state
                    issues.extend(RowIssue(row.line, row.nik, WARNING, w) for w in row.warnings)
                    continue
                current = old[1:-1]
                merged = tuple(o if v is None else v for v, o in zip(values, current, strict=True))
                # Both the regency the resident lives in and the one the file moves them to.
                refusal = self.refusal(current[_I_REGENCY], named=False) or self.refusal(
                    values[_I_REGENCY]
                )
                if refusal:
                    result.outside_jurisdiction += 1
                    issues.append(RowIssue(row.line, row.nik, REJECTED, refusal))
                    continue
                old_state = old[-1]
                to_state = old_state
                if row.ktp_state and row.ktp_state != old_state:
                    try:
                        check_move(old_state, row.ktp_state, MoveSource.CENTRAL)
                    except MoveRefused as exc:  # it names both states by their labels
                        row.warnings.append(f"status KTP-el tidak diubah: {exc.message}")
                    else:
                        to_state = row.ktp_state
                issues.extend(RowIssue(row.line, row.nik, WARNING, w) for w in row.warnings)
                changed = merged != current
                moved = to_state != old_state
                if not changed and not moved:
                    result.unchanged += 1
                    continue
                result.updated += 1
                if changed:
                    audits.append(self._audit(old, merged))
                    if merged[_I_VILLAGE] != current[_I_VILLAGE]:
                        relocated.append(old[0])
                if moved:
                    result.moves += 1
                    event = (old[0], old_state, to_state, now_db, now_db, MoveSource.CENTRAL.value)
                    events.append((*event, self.user_id, self.label, ""))
                updates.append((*merged[1:], to_state, moved, now_db, batch_id, now_db, old[0]))
            if new:
                ids = self._new_ids(cursor, len(new))
                for pk, r in zip(ids, new, strict=True):
                    r.insert(0, pk)
                states = {ids[i]: state for i, state in new_states.items()}
                created = self._insert(cursor, new, states, events, now_db)
                result.created += created
                # Rows another import inserted between our read and our insert.
                result.unchanged += len(new) - created
            if updates:
                self._update(cursor, updates)
            if relocated:
                residents_relocated.send(sender=Resident, resident_ids=relocated)
            if audits:
                AuditEntry.objects.bulk_create(audits, batch_size=500)
            if events:
                self._insert_events(cursor, events)
                records_moved_send(
                    moves=[(e[0], e[2], now) for e in events],
                    source=MoveSource.CENTRAL,
                    acting_user=self.user,
                    label=self.label,
                )
        return issues

    def _audit(self, old: tuple[Any, ...], merged: tuple[Any, ...]) -> AuditEntry:
        changes = diff_fields(
            {name: old[1 + _IDX[f]] for f, name in _AUDITED},
            {name: merged[_IDX[f]] for f, name in _AUDITED},
        )
        return AuditEntry(
            actor_id=self.user_id,
            actor_label=self.label,
            action="resident.update",
            object_type="residents.resident",
            object_id=str(old[0]),
            changes=changes,
            reason=f"Impor data penduduk {self.batch.file_name}"[:300],
        )

    def _new_ids(self, cursor: Any, n: int) -> list[int]:
        """Ids for ``n`` new residents, taken before inserting so events can refer to them."""
        if self.postgres:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [_TABLE, n],
            )
            return [r[0] for r in cursor.fetchall()]
        # SQLite: this transaction holds the write lock (BEGIN IMMEDIATE), so nobody else
        # can take these; AUTOINCREMENT never reuses an id, hence sqlite_sequence too.
        cursor.execute(
            f"SELECT max(coalesce((SELECT max(id) FROM {_TABLE}), 0), "
            "coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))",
            [_TABLE],
        )
        (last,) = cursor.fetchone()
        return list(range(last + 1, last + 1 + n))

    def _insert(
        self,
        cursor: Any,
        new: list[list[Any]],
        new_states: dict[int, str],
        events: list[tuple[Any, ...]],
        now_db: Any,
    ) -> int:
        """Insert new residents (``new`` rows start with their id); returns how many."""
        cols = ", ".join(("id", *_INSERT_COLUMNS))
        marks = ", ".join(["%s"] * (len(_INSERT_COLUMNS) + 1))
        insert = f"INSERT INTO {_TABLE} ({cols}) VALUES ({marks}) ON CONFLICT (nik) DO NOTHING"
        if self.postgres:
            try:
                with (
                    transaction.atomic(),
                    cursor.copy(f"COPY {_TABLE} ({cols}) FROM STDIN") as copy,
                ):
                    for r in new:
                        copy.write_row(r)
                created = len(new)
            except (IntegrityError, psycopg_errors.UniqueViolation):
                # Another import added one of these NIKs since we looked: skip those rows.
                cursor.executemany(insert, new)
                created = -1
        else:
            cursor.executemany(insert, new)
            created = cursor.rowcount
        ids = [r[0] for r in new]
        if created != len(new):
            placeholders = ", ".join(["%s"] * len(ids))
            cursor.execute(f"SELECT id FROM {_TABLE} WHERE id IN ({placeholders})", ids)
            inserted = {r[0] for r in cursor.fetchall()}
            ids = [i for i in ids if i in inserted]
            created = len(ids)
        source, label, user_id = MoveSource.CENTRAL.value, self.label, self.user_id
        for pk in ids:
            state = new_states.get(pk)
            if state:
                events.append((pk, "", state, now_db, now_db, source, user_id, label, ""))
        return created

    def _update(self, cursor: Any, updates: list[tuple[Any, ...]]) -> None:
        sets = ", ".join(f"{f} = %s" for f in FIELDS[1:])
        # ktp_state_at changes only with the state (the flag says whether it moved).
        cursor.executemany(
            f"UPDATE {_TABLE} SET {sets}, ktp_state = %s, "
            f"ktp_state_at = CASE WHEN %s THEN %s ELSE ktp_state_at END, "
            f"import_batch_id = %s, updated_at = %s WHERE id = %s",
            updates,
        )

    def _insert_events(self, cursor: Any, events: list[tuple[Any, ...]]) -> None:
        cols = ", ".join(_EVENT_COLUMNS)
        if self.postgres:
            with cursor.copy(f"COPY {_EVENTS} ({cols}) FROM STDIN") as copy:
                for e in events:
                    copy.write_row(e)
        else:
            marks = ", ".join(["%s"] * len(_EVENT_COLUMNS))
            cursor.executemany(f"INSERT INTO {_EVENTS} ({cols}) VALUES ({marks})", events)


# --- the import ------------------------------------------------------------------------------


def default_report_path(kind: str, source: Path) -> Path:
    """An import's report when none is named: kind, second, six random hex digits and the file
    name; the random part keeps apart the reports of files of the same name imported in the
    same second (by two offices, or by parallel test runs)."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    unique = secrets.token_hex(3)
    return Path(settings.IMPORT_REPORT_DIR) / f"{kind}-{stamp}-{unique}-{source.stem}.csv"


# Rows per transaction: large enough that commits and per-chunk queries are a small share.
CHUNK_ROWS = 20_000
# Rows between reports of reading progress inside a chunk (a chunk takes seconds to read).
PROGRESS_ROWS = 2_000
# From this many rows on, a second process reads and checks the file while this one writes.
PARALLEL_FROM_ROWS = 50_000

Chunk = tuple[int, list[ParsedRow], list[RowIssue]]  # rows read so far, kept rows, rejections


def _parse_table(
    table: Table, parser: RowParser, on_read: Callable[[int], None] | None = None
) -> Iterator[Chunk]:
    """Chunks of parsed rows; ``on_read`` gets the rows read so far every
    :data:`PROGRESS_ROWS` rows in between."""
    parsed: list[ParsedRow] = []
    issues: list[RowIssue] = []
    parse = parser.parse
    read = 0
    step = min(PROGRESS_ROWS, CHUNK_ROWS) if on_read is not None else CHUNK_ROWS
    mark = step  # one comparison per row, as before: the next count that needs a look
    for line, row in table.rows():
        item = parse(line, row)
        if type(item) is ParsedRow:
            parsed.append(item)
        else:
            issues.append(item)  # type: ignore[arg-type]
        if len(parsed) + len(issues) >= mark:
            if mark < CHUNK_ROWS:
                mark = min(mark + step, CHUNK_ROWS)
                if on_read is not None:
                    on_read(read + len(parsed) + len(issues))
                continue
            read += len(parsed) + len(issues)
            yield read, parsed, issues
            parsed, issues = [], []
            mark = step
    if parsed or issues:
        yield read + len(parsed) + len(issues), parsed, issues


def _reader_process(table: Table, parser: RowParser, queue: Any) -> None:
    """Runs in the forked reader: parse the table, send plain tuples (cheap to pickle)."""
    try:
        for read, parsed, issues in _parse_table(table, parser):
            queue.put((read, [tuple(p) for p in parsed], [astuple(i) for i in issues]))
        queue.put(None)
    except Exception as exc:  # the writer must hear of any failure, or it would wait forever
        message = exc.message if isinstance(exc, TabularError) else f"{type(exc).__name__}: {exc}"
        queue.put(("error", message))


def _parse_in_parallel(table: Table, parser: RowParser) -> Iterator[Chunk]:
    """Parse in a forked process so that reading/checking and writing use both cores.

    The child inherits the open table (this process never reads it again) and the parser
    with its region cache; it touches no database.
    """
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue(maxsize=4)
    child = ctx.Process(target=_reader_process, args=(table, parser, queue), daemon=True)
    child.start()
    try:
        while True:
            try:
                item = queue.get(timeout=2)
            except Empty:
                if not child.is_alive():
                    raise TabularError("proses pembaca berkas berhenti tanpa hasil") from None
                continue
            if item is None:
                break
            if item[0] == "error":
                raise TabularError(item[1])
            read, parsed, issues = item
            yield read, [ParsedRow._make(p) for p in parsed], [RowIssue(*i) for i in issues]
    finally:
        if child.is_alive():
            child.terminate()
        child.join()


def _use_parallel(table: Table, parallel: bool | None) -> bool:
    if parallel is not None:
        return parallel
    # fork() with other threads running can deadlock the child; then read in this process.
    return (
        (table.size_hint or 0) >= PARALLEL_FROM_ROWS
        and threading.active_count() == 1
        and "fork" in multiprocessing.get_all_start_methods()
    )


@contextmanager
def _bulk_session() -> Iterator[None]:
    """SQLite: a page cache big enough for the registry's indexes while the import runs."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (before,) = cursor.fetchone()
        cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def registry_import(
    *,
    path: Path | str,
    acting_user: Any = None,
    report_path: Path | str | None = None,
    dry_run: bool = False,
    progress: bool = False,
    on_issue: Callable[[RowIssue], None] | None = None,
    parallel: bool | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> ImportResult:
    """Import a registry file; see the module docstring for the rules.

    Raises :class:`rekam.lib.tabular.TabularError` when the file cannot be read as a table,
    and :class:`PermissionDenied` when ``acting_user`` may not import. Rows outside the
    user's jurisdiction are rejected. ``parallel`` forces (or forbids) reading in a second
    process; by default large files are. ``on_progress`` gets the rows read so far and the
    file's estimated row count after each chunk.
    """
    path = Path(path)
    if acting_user is not None:
        require(acting_user, Action.IMPORT_REGISTRY)
    table = open_table(path, REGISTRY_COLUMNS, required=REQUIRED_COLUMNS)
    report = ReportWriter(
        Path(report_path) if report_path else default_report_path("registry", path)
    )
    label = f"import:{path.name}"[:120]
    outer = transaction.atomic() if dry_run else nullcontext()
    try:
        with table, _bulk_session(), outer:
            batch = ImportBatch.objects.create(
                kind=ImportBatch.Kind.REGISTRY,
                file_name=path.name[:255],
                sha256=table.sha256,
                acting_user=acting_user if getattr(acting_user, "pk", None) else None,
                report_path=str(report.path),
            )
            result = ImportResult(batch=batch, report_path=report.path, dry_run=dry_run)
            writer = _Writer(batch=batch, acting_user=acting_user, label=label, result=result)
            parser = RowParser(RegionCache.load())
            seen: dict[int, int] = {}  # NIK -> line of the row that holds it
            with (
                _finished(batch, result),
                progress_bar(total=table.size_hint, unit=" baris", enabled=progress) as bar,
            ):
                shown = 0  # rows the bar and on_progress have been told of

                def rows_read(read: int) -> None:
                    nonlocal shown
                    bar.update(read - shown)
                    shown = read
                    if on_progress is not None:
                        on_progress(read, table.size_hint)

                # Read in this process, progress is told while a chunk is read too.
                chunks = (
                    _parse_in_parallel(table, parser)
                    if _use_parallel(table, parallel)
                    else _parse_table(table, parser, rows_read)
                )
                for read, parsed, issues in chunks:
                    rows_read(read)
                    result.rows_read = read
                    keep: list[ParsedRow] = []
                    for item in parsed:
                        key = int(item.nik)
                        first = seen.get(key)
                        if first is not None:
                            reason = f"NIK ganda: sudah ada di baris {first}"
                            issues.append(RowIssue(item.line, item.nik, REJECTED, reason))
                            continue
                        seen[key] = item.line
                        keep.append(item)
                    issues.extend(writer.write(keep))
                    _report(sorted(issues, key=lambda i: i.line), result, report, on_issue)
                # The row count was an estimate (blank lines, cells spanning lines): the bar
                # ends at 100 % of the rows there were.
                bar.total = shown
                bar.refresh()
            if dry_run:
                transaction.set_rollback(True)
    finally:
        report.close()
    return result


def _report(
    issues: list[RowIssue],
    result: ImportResult,
    report: ReportWriter,
    on_issue: Callable[[RowIssue], None] | None,
) -> None:
    for i in issues:
        if i.level == REJECTED:
            result.rejected += 1
        else:
            result.warnings += 1
        result.issues.append(i)
        report.write(i)
        if on_issue is not None:
            on_issue(i)


@contextmanager
def _finished(batch: ImportBatch, result: ImportResult) -> Iterator[None]:
    """Store the counts on the batch, also when the file breaks half-way."""
    try:
        yield
    finally:
        _finish(batch, result)


def _finish(batch: ImportBatch, result: ImportResult) -> None:
    batch.rows_read = result.rows_read
    batch.created = result.created
    batch.updated = result.updated
    batch.unchanged = result.unchanged
    batch.rejected = result.rejected
    batch.warnings = result.warnings
    batch.finished_at = timezone.now()
    batch.save(
        update_fields=[
            "rows_read",
            "created",
            "updated",
            "unchanged",
            "rejected",
            "warnings",
            "finished_at",
        ]
    )


def summarise(result: ImportResult) -> list[str]:
    """Lines for the terminal, in Indonesian."""
    lines = [
        f"Baris dibaca: {result.rows_read}",
        f"Diterima: {result.accepted} (baru {result.created}, diperbarui {result.updated}, "
        f"tidak berubah {result.unchanged})",
        f"Ditolak: {result.rejected}",
        f"Peringatan: {result.warnings}",
    ]
    if result.moves:
        lines.append(f"Perubahan status KTP-el: {result.moves}")
    lines.append(f"Laporan: {result.report_path}")
    problem = nothing_accepted(
        rows_read=result.rows_read,
        accepted=result.accepted,
        outside_jurisdiction=result.outside_jurisdiction,
    )
    if problem:
        lines.append(NOTHING_ACCEPTED[problem])
    if result.dry_run:
        lines.append("Uji coba (--dry-run): tidak ada data yang disimpan.")
    return lines


@dataclass
class StatusImportResult:
    batch: ImportBatch
    report_path: Path
    rows_read: int
    moved: int
    unchanged: int
    stale: int
    rejected: int
    issues: list[RowIssue]
    # Of the rejected: residents of a regency/city outside the acting user's jurisdiction.
    outside_jurisdiction: int = 0

    def summary(self) -> list[str]:
        lines = [
            f"Baris dibaca: {self.rows_read}",
            f"Status berpindah: {self.moved}",
            f"Tidak berubah: {self.unchanged}",
            f"Diabaikan karena lebih lama dari status saat ini: {self.stale}",
            f"Ditolak: {self.rejected}",
            f"Laporan: {self.report_path}",
        ]
        problem = nothing_accepted(
            rows_read=self.rows_read,
            accepted=self.rows_read - self.rejected,
            outside_jurisdiction=self.outside_jurisdiction,
        )
        if problem:
            lines.append(NOTHING_ACCEPTED[problem])
        return lines


def statuses_import(
    *,
    path: Path | str,
    acting_user: Any = None,
    report_path: Path | str | None = None,
    progress: bool = False,
    on_issue: Callable[[RowIssue], None] | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> StatusImportResult:
    """Import a central (SIAK) status export through :func:`apply_updates`.

    Rows that cannot be read are rejected with their line; the rest are applied through
    the move table. The run is recorded as an :class:`ImportBatch` (moves as ``updated``,
    stale updates as ``unchanged`` with a warning each).
    """
    path = Path(path)
    if acting_user is not None:
        require(acting_user, Action.IMPORT_STATUSES)
    system = FileCentralSystem(path)
    with ReportWriter(
        Path(report_path) if report_path else default_report_path("statuses", path)
    ) as report:
        batch = ImportBatch.objects.create(
            kind=ImportBatch.Kind.STATUSES,
            file_name=path.name[:255],
            acting_user=acting_user if getattr(acting_user, "pk", None) else None,
            report_path=str(report.path),
        )
        applied = apply_updates(
            system, acting_user=acting_user, progress=progress, on_progress=on_progress
        )
        issues = sorted([*system.rejections, *applied.issues], key=lambda i: i.line)
        for i in issues:
            report.write(i)
            if on_issue is not None:
                on_issue(i)
    batch.sha256 = system.sha256
    batch.rows_read = system.rows_read
    batch.updated = applied.moved
    batch.unchanged = applied.unchanged + applied.stale
    batch.rejected = applied.rejected + len(system.rejections)
    batch.warnings = applied.stale
    batch.finished_at = timezone.now()
    batch.save()
    return StatusImportResult(
        batch=batch,
        report_path=report.path,
        rows_read=system.rows_read,
        moved=applied.moved,
        unchanged=applied.unchanged,
        stale=applied.stale,
        rejected=batch.rejected,
        issues=issues,
        outside_jurisdiction=applied.outside_jurisdiction,
    )

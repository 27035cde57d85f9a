"""Message texts: one family of files per message type, in Indonesian and English.

``rekam/templates/notifications/messages/<type>/`` holds ``family.toml`` (the fields the caller
passes, the WhatsApp template's name, header and body parameters, sample data for the preview)
and one folder per language with ``whatsapp.txt`` (the approved template's body, or the free
text), ``sms.txt``, ``email_subject.txt``, ``email_body.txt`` and ``letter.txt``. Texts are
Django templates rendered without HTML escaping; dates arrive formatted for the language.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template import Context, Engine, Template
from django.utils import dateformat, timezone, translation

MESSAGES_DIR = Path(__file__).resolve().parent.parent / "templates" / "notifications" / "messages"
PARTS = ("whatsapp", "sms", "email_subject", "email_body", "letter")
LANGUAGES = ("id", "en")
FIELD_KINDS = ("text", "date", "datetime")
WHATSAPP_KINDS = ("template", "text")

_ENGINE = Engine(autoescape=False)
# How dates read in each language: "Rabu, 9 Desember 2020 pukul 08.00 WIB".
_DATE_FORMATS = {"id": "j F Y", "en": "j F Y"}
_DATETIME_FORMATS = {"id": r"l, j F Y \p\u\k\u\l H.i T", "en": "l j F Y, H:i T"}


@dataclass(frozen=True)
class Family:
    name: str
    titles: Mapping[str, str]
    fields: Mapping[str, str]  # required field -> kind
    optional: Mapping[str, str]
    whatsapp_kind: str  # "template" (pre-approved) or "text" (free, inside the 24-hour window)
    whatsapp_template: str
    whatsapp_header: str  # "" or "document"
    whatsapp_parameters: tuple[str, ...]
    # Fields whose values end the template's URL buttons, in button order (the approved
    # template holds the address up to the variable part, e.g. ".../undangan/jadwal/{{1}}").
    whatsapp_url_buttons: tuple[str, ...]
    sample: Mapping[str, Any]

    def title(self, language: str) -> str:
        return self.titles.get(language) or self.titles["id"]

    @property
    def needs_attachment(self) -> bool:
        return self.whatsapp_header == "document"


class UnknownTemplate(LookupError):
    pass


def _kinds(table: Mapping[str, Any], where: str) -> dict[str, str]:
    kinds = {str(k): str(v) for k, v in table.items()}
    bad = {k: v for k, v in kinds.items() if v not in FIELD_KINDS}
    if bad:
        raise ValueError(f"{where}: unknown field kinds {bad}")
    return kinds


@functools.cache
def family(name: str) -> Family:
    folder = MESSAGES_DIR / name
    toml_path = folder / "family.toml"
    if not name.isidentifier() or not toml_path.is_file():
        raise UnknownTemplate(f"no message family {name!r}")
    raw = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    wa = raw.get("whatsapp", {})
    fam = Family(
        name=name,
        titles=dict(raw["title"]),
        fields=_kinds(raw.get("fields", {}), str(toml_path)),
        optional=_kinds(raw.get("optional_fields", {}), str(toml_path)),
        whatsapp_kind=wa.get("kind", "template"),
        whatsapp_template=wa.get("name", name),
        whatsapp_header=wa.get("header", ""),
        whatsapp_parameters=tuple(wa.get("body_parameters", ())),
        whatsapp_url_buttons=tuple(wa.get("url_buttons", ())),
        sample=dict(raw.get("sample", {})),
    )
    if fam.whatsapp_kind not in WHATSAPP_KINDS:
        raise ValueError(f"{toml_path}: whatsapp.kind must be one of {WHATSAPP_KINDS}")
    unknown = set(fam.whatsapp_parameters) - set(fam.fields) - set(fam.optional)
    if unknown:
        raise ValueError(f"{toml_path}: body parameters that are not fields: {sorted(unknown)}")
    unknown = set(fam.whatsapp_url_buttons) - set(fam.fields) - set(fam.optional)
    if unknown:
        raise ValueError(f"{toml_path}: URL buttons that are not fields: {sorted(unknown)}")
    return fam


def families() -> list[Family]:
    return [family(p.parent.name) for p in sorted(MESSAGES_DIR.glob("*/family.toml"))]


def whatsapp_template_name(fam: Family) -> str:
    """The approved template's name: the setting where it names one, else the family's."""
    for pair in settings.NOTIFICATIONS_WHATSAPP_TEMPLATES.split(","):
        key, _, value = pair.partition("=")
        if key.strip() == fam.name and value.strip():
            return value.strip()
    return fam.whatsapp_template


def plain_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as JSON can store it (dates as ISO strings)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        out[key] = value.isoformat() if isinstance(value, date | datetime) else value
    return out


def check_data(fam: Family, data: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` when a required field is missing or a date cannot be read."""
    missing = [f for f in fam.fields if data.get(f) in (None, "")]
    if missing:
        raise ValueError(f"message {fam.name}: missing fields {missing}")
    for name, kind in {**fam.fields, **fam.optional}.items():
        if data.get(name) not in (None, ""):
            _value(kind, data[name])


def _value(kind: str, value: Any) -> Any:
    if kind == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    if kind == "datetime" and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
    return value


def _display(kind: str, value: Any, language: str) -> str:
    value = _value(kind, value)
    if kind == "datetime" and isinstance(value, datetime):
        return dateformat.format(timezone.localtime(value), _DATETIME_FORMATS[language])
    if kind in ("date", "datetime") and isinstance(value, date):
        return dateformat.format(value, _DATE_FORMATS[language])
    return str(value)


def display_values(fam: Family, data: Mapping[str, Any], language: str) -> dict[str, str]:
    """Every field as the reader sees it, in ``language``."""
    language = language if language in LANGUAGES else "id"
    with translation.override(language):
        return {
            name: _display(kind, data[name], language)
            for name, kind in {**fam.fields, **fam.optional}.items()
            if data.get(name) not in (None, "")
        }


@functools.cache
def _template(name: str, language: str, part: str) -> Template:
    path = MESSAGES_DIR / name / language / f"{part}.txt"
    if not path.is_file():
        path = MESSAGES_DIR / name / "id" / f"{part}.txt"
    return _ENGINE.from_string(path.read_text(encoding="utf-8"))


def render(fam: Family, part: str, language: str, data: Mapping[str, Any]) -> str:
    """The text of one part (``sms``, ``letter``, ...) for ``data``, in ``language``."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}")
    language = language if language in LANGUAGES else "id"
    values = display_values(fam, data, language)
    return _template(fam.name, language, part).render(Context(values)).strip()


def whatsapp_parameters(fam: Family, language: str, data: Mapping[str, Any]) -> list[str]:
    """The template's body parameters, in order (WhatsApp refuses empty ones: use "-")."""
    values = display_values(fam, data, language)
    return [values.get(name) or "-" for name in fam.whatsapp_parameters]

"""The Indonesian catalog is complete and the compiled catalogs match their .po files."""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
TEMPLATES = Path(settings.BASE_DIR) / "templates"
LANGUAGES = ["id", "en"]


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$')


def parse_po(path: Path) -> list[Entry]:
    """Entries of a .po file (obsolete ``#~`` entries are left out)."""
    entries: list[Entry] = []
    entry, current = Entry(), None

    def finish() -> None:
        nonlocal entry, current
        if current is not None:
            entries.append(entry)
        entry, current = Entry(), None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue  # an entry ends where the next one's comments or keywords begin
        if line.startswith("#,"):
            if current is not None:
                finish()
            entry.flags |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            if current is not None and not line.startswith("#~"):
                finish()
        elif m := _KEYWORD.match(line):
            keyword, index, text = m.groups()
            if (
                keyword in ("msgctxt", "msgid")
                and current is not None
                and current.startswith("msgstr")
            ):
                finish()
            value = ast.literal_eval(text)
            if keyword == "msgid":
                entry.msgid, entry.line, current = value, number, "msgid"
            elif keyword == "msgid_plural":
                entry.msgid_plural, current = value, "msgid_plural"
            elif keyword == "msgctxt":
                entry.msgctxt, current = value, "msgctxt"
            else:
                slot = int(index) if index is not None else 0
                entry.msgstr[slot], current = value, f"msgstr{slot}"
        elif line.startswith('"') and current is not None:
            value = ast.literal_eval(line)
            if current == "msgid":
                entry.msgid += value
            elif current == "msgid_plural":
                entry.msgid_plural = (entry.msgid_plural or "") + value
            elif current == "msgctxt":
                entry.msgctxt = (entry.msgctxt or "") + value
            else:
                slot = int(current.removeprefix("msgstr"))
                entry.msgstr[slot] += value
        else:
            raise AssertionError(f"{path}:{number}: cannot read {raw!r}")
    finish()
    return entries


def messages(lang: str) -> list[Entry]:
    return [e for e in parse_po(LOCALE / lang / "LC_MESSAGES" / "django.po") if e.msgid]


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)[sd]", text))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_both_catalogs_exist_and_are_compiled(lang):
    folder = LOCALE / lang / "LC_MESSAGES"
    assert (folder / "django.po").is_file()
    assert (folder / "django.mo").is_file()


def test_every_indonesian_message_is_translated():
    untranslated = [
        f"line {e.line}: {e.msgid!r}"
        for e in messages("id")
        if not e.msgstr or not all(s.strip() for s in e.msgstr.values())
    ]
    assert untranslated == []


def test_no_indonesian_translation_is_fuzzy():
    assert [f"line {e.line}: {e.msgid!r}" for e in messages("id") if e.fuzzy] == []


def test_indonesian_translations_keep_the_placeholders():
    wrong = [
        e.msgid
        for e in messages("id")
        for s in e.msgstr.values()
        if placeholders(s) != placeholders(e.msgid)
    ]
    assert wrong == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_catalog_matches_the_po_file(lang):
    expected: dict[object, str] = {}
    for e in messages(lang):
        if e.fuzzy or not any(e.msgstr.values()):
            continue  # msgfmt leaves these out
        key = f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt is not None else e.msgid
        if e.msgid_plural is None:
            expected[key] = e.msgstr[0]
        else:
            expected.update({(key, n): text for n, text in e.msgstr.items()})
    with (LOCALE / lang / "LC_MESSAGES" / "django.mo").open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    catalog = {k: v for k, v in compiled._catalog.items() if k != ""}  # type: ignore[attr-defined]
    assert catalog == expected, "run `make messages` to recompile the catalogs"


# {% translate "..." %} / {% trans '...' %} with a literal and no options
_TEMPLATE_STRING = re.compile(r"""{%\s*(?:translate|trans)\s+(["'])(.+?)\1\s*%}""")


def test_every_template_string_is_in_the_catalog():
    known = {e.msgid for e in messages("id")}
    missing = sorted(
        f"{path.relative_to(TEMPLATES)}: {text}"
        for path in TEMPLATES.rglob("*.html")
        for _, text in _TEMPLATE_STRING.findall(path.read_text(encoding="utf-8"))
        if text not in known
    )
    assert missing == [], "run `make messages` and translate the new strings"

"""The public verifier's server side: a dated key list that names withdrawn keys, the verdict
"cannot be checked here" for a saved key list older than the Suket, the online check the page
falls back on, and ``rekam suket_verify`` given text that is not a file."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from rekam.lib.signing import cose_sign1, key_id, pack_text, public_key_raw
from rekam.residents.states import KtpState
from rekam.suket.keys import office_key_rotate, published_keys
from rekam.suket.services import revocation_list_published, suket_issue
from rekam.suket.verify import (
    LABELS,
    SAH,
    TIDAK_DAPAT_DIPERIKSA,
    TIDAK_SAH,
    KeySet,
    RevocationList,
    verifier_texts,
    verify_qr_text,
)

from .factories import make_resident
from .test_suket_verify import _parts, issued  # noqa: F401  (fixture)


def _saved(client, shift: timedelta = timedelta(0)) -> dict:
    """kunci.json as a phone saved it, optionally dated ``shift`` later."""
    doc = client.get("/verifikasi/kunci.json").json()
    doc["generated_at"] = (datetime.fromisoformat(doc["generated_at"]) + shift).isoformat()
    return doc


def _check(text: str, doc: dict):
    return verify_qr_text(
        text,
        keys=KeySet.from_document(doc),
        revoked=RevocationList.from_published(revocation_list_published()),
        now=timezone.now(),
    )


def _issue_after_rotation(personas, issued):  # noqa: F811
    office_key_rotate(office=personas.bdl_office)
    suket = suket_issue(
        resident=make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT, name="Rina Wati"),
        election=issued.election,
    ).suket
    assert suket is not None
    return suket


def _own_key(text: str, **changes: object) -> str:
    """The payload (with ``changes``) signed with a key no office ever published."""
    _protected, payload, _sig = _parts(text)
    data = dict(cbor2.loads(payload)) | changes
    key = Ed25519PrivateKey.generate()
    kid = key_id(public_key_raw(key.public_key()))
    return pack_text(cose_sign1(cbor2.dumps(data), private_key=key, kid=kid), prefix="RK1:")


def test_the_key_list_is_dated_and_names_withdrawn_keys_by_id_only(issued, personas, client):  # noqa: F811
    leaked = issued.key
    office_key_rotate(office=personas.bdl_office, compromised=True)
    doc = client.get("/verifikasi/kunci.json").json()
    assert datetime.fromisoformat(doc["generated_at"]) <= timezone.now()
    assert [w["kid"] for w in doc["withdrawn"]] == [leaked.kid]
    assert set(doc["withdrawn"][0]) == {"kid", "withdrawn_at"}  # no public key: nothing verifies
    assert leaked.kid not in {k["kid"] for k in doc["keys"]}


def test_a_saved_key_list_older_than_the_suket_cannot_decide_a_new_key(
    issued,  # noqa: F811
    personas,
    client,
):
    before = _saved(client)
    suket = _issue_after_rotation(personas, issued)
    verdict = _check(suket.qr_text, before)
    assert verdict.status == TIDAK_DAPAT_DIPERIKSA
    with translation.override("en"):
        assert "does not hold" in _check(suket.qr_text, before).reason
    # Nothing of an unverified payload is shown.
    assert verdict.holder_name == "" and verdict.as_json()["nik"] is None
    assert _check(suket.qr_text, _saved(client)).status == SAH  # a fresh copy knows the key


def test_a_saved_key_list_from_after_the_issue_day_refuses_an_unknown_key(issued, client):  # noqa: F811
    forged = _own_key(issued.qr_text)
    assert _check(forged, _saved(client)).status == TIDAK_DAPAT_DIPERIKSA  # same day: undecided
    verdict = _check(forged, _saved(client, timedelta(days=1)))
    assert verdict.status == TIDAK_SAH and "tidak dikenal" in verdict.reason
    # The live set knows every key: an unknown one is never undecided there.
    live = verify_qr_text(
        forged,
        keys=KeySet.from_published(published_keys()),
        revoked=RevocationList.from_published(revocation_list_published()),
        now=timezone.now(),
    )
    assert live.status == TIDAK_SAH


def test_a_saved_key_list_refuses_what_a_withdrawn_key_signed(issued, personas, client):  # noqa: F811
    office_key_rotate(office=personas.bdl_office, compromised=True)
    verdict = _check(issued.qr_text, _saved(client))
    assert verdict.status == TIDAK_SAH and "sudah ditarik sejak" in verdict.reason


def test_a_key_list_without_a_date_is_taken_as_live(issued, client):  # noqa: F811
    doc = {"keys": client.get("/verifikasi/kunci.json").json()["keys"]}
    assert _check(_own_key(issued.qr_text), doc).status == TIDAK_SAH


def test_the_online_check_shows_the_birth_date_and_only_the_masked_nik(issued, client):  # noqa: F811
    response = client.post(
        "/verifikasi/periksa", {"qr": issued.qr_text}, content_type="application/json"
    )
    data = response.json()
    assert (data["status"], data["birth_date"]) == (SAH, "1990-05-17")
    assert data["nik"] == issued.resident.masked_nik
    assert issued.resident.nik not in response.content.decode()


def test_the_online_check_decides_what_a_saved_key_list_cannot(issued, personas, client):  # noqa: F811
    suket = _issue_after_rotation(personas, issued)
    response = client.post(
        "/verifikasi/periksa?bahasa=en", {"qr": suket.qr_text}, content_type="application/json"
    )
    data = response.json()
    assert (data["status"], data["label"], data["name"]) == (SAH, "VALID", "RINA WATI")
    assert data["reason"].startswith("a genuine Suket")
    assert "django_language" not in response.cookies  # the check leaves the choice alone


def test_the_online_check_the_page_makes_is_rate_limited(client, settings, db):
    settings.RATELIMIT_VERIFY_PER_MINUTE = 1
    post = {"data": {"qr": "RK1:x"}, "content_type": "application/json"}
    assert client.post("/verifikasi/periksa", REMOTE_ADDR="10.2.2.2", **post).status_code == 200
    response = client.post("/verifikasi/periksa", REMOTE_ADDR="10.2.2.2", **post)
    assert response.status_code == 429 and "error" in response.json()


def test_the_page_carries_the_texts_of_the_new_verdict_and_its_next_steps(client, db):
    page = client.get("/verifikasi?bahasa=en").content.decode()
    found = re.search(r'<script id="verifier-texts" type="application/json">(.*?)</script>', page)
    assert found is not None
    texts = json.loads(found.group(1))
    with translation.override("en"):
        assert texts == verifier_texts()
    assert texts["cannot_check"] == "CANNOT BE CHECKED HERE"
    for key in ("no_ed25519", "no_inflate", "no_qr_reader", "offline_ready", "empty"):
        assert texts[key]
    assert "date of birth" in texts["next_valid"] and "KTP-el" in texts["next_not_valid"]
    for element in ('id="verdict-next"', 'id="offline-ready"', 'id="image-note"'):
        assert element in page


# rekam suket_verify


def test_the_command_takes_a_long_text_that_is_no_file_as_text(db):
    with pytest.raises(CommandError, match="bukan teks kode Suket"):
        call_command("suket_verify", "A" * 5000)  # was OSError: File name too long
    out = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("suket_verify", "RK1:" + "A" * 5000, stdout=out)
    assert exc.value.code == 1 and out.getvalue().startswith("TIDAK SAH")


def test_the_command_refuses_garbage_with_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="bukan berkas gambar yang ada"):
        call_command("suket_verify", "halo")
    broken = tmp_path / "kunci.json"
    broken.write_text("{not json")
    with pytest.raises(CommandError, match="--keys"):
        call_command("suket_verify", "RK1:X", keys=str(broken))


def test_the_command_prints_the_birth_date(issued):  # noqa: F811
    out = io.StringIO()
    call_command("suket_verify", issued.qr_text, stdout=out)
    assert "Tanggal lahir: 17-05-1990" in out.getvalue().splitlines()


def test_the_command_with_a_saved_key_file_older_than_the_suket_exits_2(
    issued,  # noqa: F811
    personas,
    client,
    tmp_path,
):
    keys = tmp_path / "kunci.json"
    keys.write_text(json.dumps(_saved(client)))
    suket = _issue_after_rotation(personas, issued)
    out = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("suket_verify", suket.qr_text, keys=str(keys), stdout=out)
    assert exc.value.code == 2
    assert out.getvalue().startswith(str(LABELS[TIDAK_DAPAT_DIPERIKSA]))
    assert "RINA" not in out.getvalue()

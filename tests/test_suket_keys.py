"""Office signing keys: a retired key vouches only for Sukets issued before it was retired; a
compromised key is withdrawn with everything it signed; ``rekam suket_key_rotate``."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from rekam.audit.models import AuditEntry
from rekam.residents.states import KtpState
from rekam.suket.keys import office_key_active, office_key_rotate, published_keys
from rekam.suket.models import OfficeKey, Suket
from rekam.suket.services import (
    SuketContent,
    holder_data,
    render_suket,
    revocation_list_published,
    suket_issue,
)
from rekam.suket.verify import SAH, TIDAK_SAH, KeySet, RevocationList, verify_qr_text

from .factories import make_resident
from .test_suket_support import jakarta, make_pilkada, ready_office


@pytest.fixture
def election(personas):
    ready_office(personas.bdl_office, blanks=0)
    return make_pilkada()


def verdict(text: str, on: date):
    return verify_qr_text(
        text,
        keys=KeySet.from_published(published_keys()),
        revoked=RevocationList.from_published(revocation_list_published()),
        now=jakarta(on.year, on.month, on.day),
    )


def signed_with(key: OfficeKey, suket: Suket, issued_on: date) -> str:
    """What a holder of ``key``'s private half can sign: a Suket dated ``issued_on``."""
    content = SuketContent(
        office=suket.office,
        election=suket.election,
        number="470/9999/SKT-KTP/18.71/2020",
        uid=bytes.fromhex("00112233445566ff"),
        holder=holder_data(suket.resident),
        reason="BELUM_PRR",
        issued_on=issued_on,
        valid_until=suket.valid_until,
        signer_name=suket.signer_name,
        signer_nip=suket.signer_nip,
    )
    return render_suket(content, key)[0]


def issue(election, on: date) -> Suket:
    resident = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    suket = suket_issue(resident=resident, election=election, at=jakarta(on.year, on.month, on.day))
    assert suket.suket is not None
    return suket.suket


def test_a_suket_signed_by_a_key_before_its_retirement_still_verifies(election, personas):
    suket = issue(election, date(2020, 12, 3))
    office_key_rotate(office=personas.bdl_office, at=jakarta(2020, 12, 5))
    assert verdict(suket.qr_text, date(2020, 12, 8)).status == SAH


def test_a_retired_key_does_not_vouch_for_a_suket_dated_after_its_retirement(election, personas):
    suket = issue(election, date(2020, 12, 3))
    old = suket.key
    office_key_rotate(office=personas.bdl_office, at=jakarta(2020, 12, 5))
    forged = signed_with(old, suket, date(2020, 12, 6))
    result = verdict(forged, date(2020, 12, 8))
    assert result.status == TIDAK_SAH
    assert "kunci yang sudah ditarik sejak 05-12-2020" in result.reason


def test_a_retired_key_vouches_for_the_day_of_its_retirement(election, personas):
    suket = issue(election, date(2020, 12, 3))
    old = suket.key
    office_key_rotate(office=personas.bdl_office, at=jakarta(2020, 12, 5, 16))
    assert verdict(signed_with(old, suket, date(2020, 12, 5)), date(2020, 12, 8)).status == SAH


def test_a_compromised_key_leaves_the_published_set_and_nothing_it_signed_verifies(
    election, personas, client
):
    suket = issue(election, date(2020, 12, 3))
    old = suket.key
    new = office_key_rotate(
        office=personas.bdl_office, acting_user=personas.bdl_admin, compromised=True
    )
    kids = {k["kid"] for k in published_keys()}
    assert old.kid not in kids and new.kid in kids
    assert verdict(suket.qr_text, date(2020, 12, 8)).status == TIDAK_SAH
    data = client.get("/verifikasi/periksa", {"qr": suket.qr_text}).json()
    assert data["status"] == TIDAK_SAH


def test_the_holders_of_a_compromised_keys_sukets_can_be_issued_new_ones(election, personas):
    suket = issue(election, date(2020, 12, 3))
    office_key_rotate(office=personas.bdl_office, compromised=True, at=jakarta(2020, 12, 4))
    suket.refresh_from_db()
    assert suket.revoked_at is not None and "bocor" in suket.revoked_reason
    again = suket_issue(resident=suket.resident, election=election, at=jakarta(2020, 12, 4, 11))
    assert again.suket is not None and again.suket.key != suket.key
    assert verdict(again.suket.qr_text, date(2020, 12, 8)).status == SAH
    # Left out of the list: without the key they fail anyway, and the list stays small.
    assert revocation_list_published(now=jakarta(2020, 12, 8))["count"] == 0


def test_a_file_that_still_carries_a_compromised_key_is_not_trusted(election, personas):
    suket = issue(election, date(2020, 12, 3))
    rows = published_keys()
    office_key_rotate(office=personas.bdl_office, compromised=True)
    old = OfficeKey.objects.get(kid=suket.key.kid)
    assert old.compromised_at is not None
    stale = [dict(r, compromised_at=old.compromised_at.isoformat()) for r in rows]
    assert bytes.fromhex(suket.key.kid) not in KeySet.from_published(stale).keys


def test_the_command_rotates_and_reports_the_old_and_new_key(election, personas):
    old = office_key_active(personas.bdl_office)
    out = io.StringIO()
    call_command("suket_key_rotate", "--office", "18.71", stdout=out)
    new = office_key_active(personas.bdl_office)
    assert new.kid != old.kid
    assert f"Kunci {old.kid} dipensiunkan" in out.getvalue()
    assert new.kid in out.getvalue()
    assert old.kid in {k["kid"] for k in published_keys()}


def test_the_command_withdraws_a_compromised_key(election, personas):
    suket = issue(election, date(2020, 12, 3))
    out = io.StringIO()
    call_command("suket_key_rotate", "--office", "18.71", "--compromised", stdout=out)
    assert f"Kunci {suket.key.kid} ditarik (bocor)" in out.getvalue()
    assert "1 Suket" in out.getvalue()
    assert suket.key.kid not in {k["kid"] for k in published_keys()}
    assert AuditEntry.objects.filter(action="suket.key_compromised").count() == 1


def test_the_command_refuses_an_unknown_office(election):
    with pytest.raises(CommandError, match="tidak ditemukan"):
        call_command("suket_key_rotate", "--office", "99.99")


def test_the_command_checks_the_users_jurisdiction(election, personas):
    before = office_key_active(personas.lamsel_office)
    with pytest.raises(CommandError):
        call_command("suket_key_rotate", "--office", "18.01", "--user", personas.bdl_admin.username)
    assert office_key_active(personas.lamsel_office) == before

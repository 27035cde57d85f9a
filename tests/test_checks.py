"""Deployment checks: the demo's public defaults never pass ``rekam check --deploy``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.checks import Tags, run_checks

from rekam import checks

STRONG = "k3Y-" + "x9Qz7LmP2vW8rT5nB1cD4fG6hJ0aS3eR" + "uI7oK2yN5mZ8qX1wV4bT6"
STRONG_SUKET = "s8Kp2Lq7Wn4Xc9Vb1Zm6Rt3Yh5Gf0Dj2"
VERIFY = "https://rekam.lampungprov.go.id/verifikasi"


def ids(messages):
    return sorted(m.id or "" for m in messages)


@pytest.fixture
def deployed(settings):
    """Settings as a correct deployment has them; each test spoils one."""
    settings.DEBUG = False
    settings.SECRET_KEY = STRONG
    settings.SUKET_KEY_SECRET = STRONG_SUKET
    settings.SUKET_VERIFY_URL = VERIFY
    return settings


def test_the_demo_runs_on_the_demo_key_by_default():
    # The checks recognise the demo key by this value: both must stay the same.
    assert django_settings.SECRET_KEY == django_settings.DEMO_SECRET_KEY
    assert django_settings.SUKET_KEY_SECRET == django_settings.DEMO_SECRET_KEY


def test_a_correct_deployment_passes(deployed):
    assert checks.check_secrets() == []
    assert checks.check_verify_url() == []


def test_it_refuses_the_demo_secret_key(deployed):
    deployed.SECRET_KEY = deployed.DEMO_SECRET_KEY
    assert "rekam.E001" in ids(checks.check_secrets())


def test_it_refuses_a_short_secret_key(deployed):
    deployed.SECRET_KEY = "kunci-pendek-sekali"
    assert ids(checks.check_secrets()) == ["rekam.E002"]


def test_it_refuses_a_long_secret_key_of_few_characters(deployed):
    deployed.SECRET_KEY = "ab" * 40
    assert ids(checks.check_secrets()) == ["rekam.E002"]


def test_it_refuses_the_demo_suket_key_secret(deployed):
    deployed.SUKET_KEY_SECRET = deployed.DEMO_SECRET_KEY
    assert ids(checks.check_secrets()) == ["rekam.E003"]


def test_it_refuses_a_short_suket_key_secret(deployed):
    deployed.SUKET_KEY_SECRET = "rahasia-suket"
    assert ids(checks.check_secrets()) == ["rekam.E004"]


def test_it_warns_when_the_suket_key_secret_is_the_secret_key(deployed):
    deployed.SUKET_KEY_SECRET = STRONG
    assert ids(checks.check_secrets()) == ["rekam.W001"]


def test_the_secret_checks_leave_a_debug_run_alone(deployed):
    deployed.DEBUG = True
    deployed.SECRET_KEY = deployed.SUKET_KEY_SECRET = deployed.DEMO_SECRET_KEY
    assert checks.check_secrets() == []


@pytest.mark.parametrize("url", ["/verifikasi", "rekam.example.go.id/verifikasi", "ftp://x/v"])
def test_it_refuses_a_verify_address_that_is_not_absolute_http(deployed, url):
    deployed.SUKET_VERIFY_URL = url
    assert ids(checks.check_verify_url()) == ["rekam.E005"]


def test_the_checks_run_with_deploy_only(settings):
    settings.DEBUG = False
    assert not [m for m in run_checks(tags=[Tags.security]) if (m.id or "").startswith("rekam.")]
    found = ids(run_checks(tags=[Tags.security], include_deployment_checks=True))
    assert {"rekam.E001", "rekam.E003", "rekam.E005"} <= set(found)


def _check_deploy(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    # Only what a shell needs: no setting of this test run may leak into the deployment.
    environment = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    environment.update(REKAM_DATA_DIR=str(tmp_path), DEBUG="false", **env)
    return subprocess.run(
        [sys.executable, "-m", "rekam", "check", "--deploy", "--fail-level", "WARNING"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_deployment_configured_through_the_environment_passes_check_deploy(tmp_path):
    done = _check_deploy(
        tmp_path,
        SECRET_KEY=STRONG,
        SUKET_KEY_SECRET=STRONG_SUKET,
        SUKET_VERIFY_URL=VERIFY,
        ALLOWED_HOSTS="rekam.lampungprov.go.id",
        SECURE_SSL_REDIRECT="true",
        SECURE_PROXY_SSL="true",
        SESSION_COOKIE_SECURE="true",
        CSRF_COOKIE_SECURE="true",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_HSTS_PRELOAD="true",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_the_demo_defaults_fail_check_deploy(tmp_path):
    done = _check_deploy(tmp_path)
    assert done.returncode != 0
    for check_id in ("rekam.E001", "rekam.E003", "rekam.E005", "security.W004", "security.W008"):
        assert check_id in done.stderr

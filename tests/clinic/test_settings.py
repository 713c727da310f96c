"""The settings modules: importing one only reads the environment; production refuses to start
half-configured and passes ``check --deploy``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "clinic.settings.production",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-key-" + "x" * 40,
    "DJANGO_ALLOWED_HOSTS": "boneage.hospital.example",
    "BONEAGE_IDENTIFIER_KEY": "another-long-random-key-for-identifier-hmacs",
    "DATABASE_URL": "postgres://clinic@127.0.0.1:5432/clinic",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "BONEAGE"))}
    clean.pop("DATABASE_URL", None)
    clean.pop("CELERY_BROKER_URL", None)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("module", ["local", "production"])
def test_importing_the_settings_creates_nothing_and_opens_no_socket(module, tmp_path):
    var = tmp_path / "var"
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('settings opened a socket')\n"
        "socket.create_connection = refuse\n"
        f"import clinic.settings.{module}\n"
    )
    answer = _python(code, **PRODUCTION, BONEAGE_VAR_DIR=str(var))
    assert answer.returncode == 0, answer.stderr
    assert not var.exists()


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "BONEAGE_IDENTIFIER_KEY"]
)
def test_production_refuses_to_start_without_each_of_its_keys(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    answer = _python("import clinic.settings.production", **env)
    assert answer.returncode != 0
    assert f"{missing} must be set for production" in answer.stderr


def test_production_refuses_the_secret_key_as_identifier_key():
    env = PRODUCTION | {"BONEAGE_IDENTIFIER_KEY": PRODUCTION["DJANGO_SECRET_KEY"]}
    answer = _python("import clinic.settings.production", **env)
    assert "BONEAGE_IDENTIFIER_KEY must differ" in answer.stderr


def test_an_s3_bucket_makes_the_media_storage_s3_and_refuses_an_nginx_media_folder():
    code = (
        "from clinic.settings import production as s\n"
        "print(s.STORAGES['default']['BACKEND'], s.STORAGES['default']['OPTIONS']['bucket_name'])\n"
    )
    answer = _python(code, **PRODUCTION, BONEAGE_S3_BUCKET="films")
    assert answer.stdout.split() == ["storages.backends.s3.S3Storage", "films"], answer.stderr
    both = PRODUCTION | {"BONEAGE_S3_BUCKET": "films", "BONEAGE_MEDIA_ACCEL_PREFIX": "/media/"}
    answer = _python("import clinic.settings.production", **both)
    assert answer.returncode != 0 and "leave it empty" in answer.stderr


def test_production_passes_the_deployment_checklist():
    code = (
        "import django, sys\n"
        "from django.core.management import call_command\n"
        "django.setup()\n"
        "call_command('check', deploy=True, fail_level='WARNING')\n"
        "from django.conf import settings\n"
        "assert settings.SECURE_HSTS_SECONDS >= 31536000 and settings.SESSION_COOKIE_SECURE\n"
    )
    answer = _python(code, **PRODUCTION)
    assert answer.returncode == 0, answer.stderr


def test_production_pages_carry_a_content_security_policy(settings, client):
    csp = "clinic.middleware.ContentSecurityPolicyMiddleware"
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, csp]
    settings.BONEAGE_CONTENT_SECURITY_POLICY = "default-src 'self'"
    response = client.get("/login/")
    assert response.headers["Content-Security-Policy"] == "default-src 'self'"

"""``/api/docs/`` under production's content security policy: Swagger UI renders the API's
operations in chromium and the console shows no CSP violation (its start-up script is served
from its own URL, not inline).

The page is served by gunicorn with ``clinic.settings.production`` itself, so the header is the
one a deployment sends (plain HTTP on loopback: ``DJANGO_SECURE_SSL_REDIRECT=0``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.clinic.worker_process import gunicorn_serving

pytestmark = pytest.mark.browser


@pytest.fixture
def production_web(tmp_path: Path) -> Iterator[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "clinic.settings.production",
        "DJANGO_SECRET_KEY": "production-like-test-secret-key-" + "x" * 40,
        "BONEAGE_IDENTIFIER_KEY": "production-like-identifier-key",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "BONEAGE_VAR_DIR": str(tmp_path / "var"),
    }
    with gunicorn_serving(env, log=tmp_path / "web.log", ready="/api/docs/", timeout_s=90) as base:
        yield base


def test_the_api_docs_render_under_the_production_csp(production_web: str, chromium: Any) -> None:
    policy = requests.get(f"{production_web}/api/docs/", timeout=10).headers[
        "Content-Security-Policy"
    ]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1]
    page = chromium.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.goto(f"{production_web}/api/docs/")
    page.wait_for_selector(".opblock", timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/studies/" in paths and "/api/v1/studies/{study_id}/fhir/" in paths
    violations = [line for line in console if "Content Security Policy" in line]
    assert not violations, violations

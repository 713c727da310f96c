"""Browser-test fixtures: a live server, a real Celery worker, Debian's chromium via Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clinic.worker_process import flush_broker, services_available, start_worker, stop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _media_root(
    settings: Any, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Own media folder; and Django's ORM allowed while Playwright's event loop runs in this
    thread (the test's own ORM calls are synchronous; the live server has its own thread)."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests save their screenshots: a temporary folder, so that a test run
    leaves the checkout as it was; ``BONEAGE_SCREENSHOTS=docs/screenshots`` (``make
    screenshots``) refreshes the README's instead."""
    chosen = os.environ.get("BONEAGE_SCREENSHOTS")
    if not chosen:
        return tmp_path_factory.mktemp("screenshots")
    folder = ROOT / chosen
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def worker(transactional_db: None, tmp_path: Any) -> Iterator[Any]:
    """A real worker on the live server's database, broker and media folder."""
    if not services_available():
        pytest.skip("needs PostgreSQL and Redis (required with CI=true by clinic/settings/test.py)")
    flush_broker()
    process = start_worker("browser", tmp_path)
    yield process
    stop(process)


@pytest.fixture
def chromium() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def clinician(transactional_db: None) -> Any:
    """User ``anna`` (password ``pw``) of Demo Hospital, and ``olaf`` of another hospital."""
    from django.contrib.auth import get_user_model

    from clinic.models import Institution, Membership

    users = {}
    for username, hospital in (("anna", "Demo Hospital"), ("olaf", "Other Hospital")):
        user = get_user_model().objects.create_user(username=username, password="pw")
        Membership.objects.create(user=user, institution=Institution.objects.create(name=hospital))
        users[username] = user
    return users

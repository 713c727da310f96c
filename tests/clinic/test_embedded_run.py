"""``make run``'s server (``docker/run-embedded.sh``: gunicorn and the worker on SQLite and the
filesystem broker) answers 50 uploads sent at once, each with 201, serves the static files, and its
worker still assesses studies.

Started as ``make run`` starts it (``migrate``, ``bootstrap_demo``, the script) with the embedded
defaults, in a temporary ``BONEAGE_VAR_DIR`` and on a free port; no test service is used.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.clinic.worker_process import ROOT, free_port, wait_until

UPLOADS = 50
ASSESS_TIMEOUT_S = 300  # the worker loads the models and assesses the demo film on a busy CPU


def _environment(var: Path, port: int) -> dict[str, str]:
    """The environment of a fresh ``make run``: nothing of the test's servers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_"))}
    for name in ("BONEAGE_MEDIA_ROOT", "BONEAGE_IDENTIFIER_KEY", "PYTEST_VERSION"):
        env.pop(name, None)
    return env | {"DJANGO_SETTINGS_MODULE": "clinic.settings.local",
                  "BONEAGE_VAR_DIR": str(var), "PORT": str(port)}  # fmt: skip


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = _environment(tmp_path / "var", port)
    _manage(env, "migrate", "--noinput")
    _manage(env, "bootstrap_demo")
    log = (tmp_path / "run.log").open("wb")
    run = subprocess.Popen(["bash", "docker/run-embedded.sh"], cwd=ROOT, env=env, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or its workers still starting
            return False

    try:
        wait_until(healthy, 90, "the embedded server to answer")
        yield base, env
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        try:
            run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        log.close()
        print((tmp_path / "run.log").read_text(errors="replace")[-3000:])


def test_fifty_uploads_at_once_are_all_answered_201(
    embedded: tuple[str, dict[str, str]], phantom_png: bytes
) -> None:
    base, env = embedded
    token = _manage(env, "create_api_token", "demo", "--name", "load").strip()
    api = f"{base}/api/v1/studies/"
    headers = {"Authorization": f"Bearer {token}"}

    def upload(n: int) -> int:
        files = {"image": (f"hand-{n}.png", phantom_png, "image/png")}
        data = {"sex": "F", "chronological_age_months": "120"}
        return requests.post(api, headers=headers, files=files, data=data, timeout=120).status_code

    with ThreadPoolExecutor(max_workers=UPLOADS) as pool:
        statuses = list(pool.map(upload, range(UPLOADS)))
    assert statuses == [201] * UPLOADS
    studies = requests.get(api, headers=headers, params={"limit": 100}, timeout=30).json()
    assert studies["count"] == UPLOADS + 1  # and the demo study
    assert requests.get(f"{base}/static/admin/css/base.css", timeout=10).status_code == 200

    demo = f"{api}{min(s['id'] for s in studies['results'])}/"
    deadline = time.monotonic() + ASSESS_TIMEOUT_S
    while (status := requests.get(demo, headers=headers, timeout=30).json()["status"]) not in {
        "done",
        "failed",
    } and time.monotonic() < deadline:
        time.sleep(3)  # within the token's rate of requests
    assert status == "done"

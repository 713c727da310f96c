"""Faults against the real services, each bounded in time: a film that crashes its worker every
time, Redis restarted under queued and running studies, PostgreSQL unreachable under the web
server. (A worker killed mid-task: ``test_worker_integration.py``; storage full and every other
failure injected into one run: ``test_no_study_stuck.py``; an upload the storage refuses:
``api/test_api_studies.py``.)
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings

from clinic import services
from clinic.api.tokens import api_token_create
from clinic.celery import app
from clinic.models import Report, Study
from tests.clinic.tcp_proxy import TcpProxy
from tests.clinic.worker_process import (
    database_url,
    free_port,
    gunicorn_serving,
    service_environment,
    stop,
    wait_until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("real_services"),
]

TIMEOUT_S = 240  # model loading and assessments on a shared 2-core CPU: generous, not tight


def _status(study: Study) -> str:
    study.refresh_from_db()
    return study.status


def _finished(*studies: Study) -> bool:
    for study in studies:
        study.refresh_from_db()
    return all(study.status in {"done", "failed"} for study in studies)


def test_a_film_that_crashes_its_worker_every_time_fails_after_its_attempts(
    workers, user, upload
) -> None:
    worker = workers("poisoned", crash=True, environment={"BONEAGE_MAX_ATTEMPTS": "2"})
    study = services.study_create(user=user, file=upload(), sex="F", chronological_age_months=90)
    wait_until(lambda: _finished(study), TIMEOUT_S, "the poison study to fail", worker=worker)
    assert study.status == "failed" and study.attempts == 2
    assert "started 2 times" in study.failure_reason
    assert not Report.objects.filter(study=study).exists()
    log = Path(worker.log_path).read_text(errors="replace")
    assert "signal 9 (SIGKILL)" in log  # its pool child crashed, not the study's code
    # The queue is not blocked behind it: the next film is assessed (by a worker without the
    # injected crash, which would kill every assessment).
    stop(worker)
    healthy = workers("healthy")
    other = services.study_create(user=user, file=upload(), sex="M", chronological_age_months=90)
    wait_until(lambda: _finished(other), TIMEOUT_S, "a healthy study", worker=healthy)
    assert other.status == "done"


class _Redis:
    """A private redis-server on a free port, in a folder of the test's, that can be restarted."""

    def __init__(self, folder: Path, *, persistent: bool) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.command = [
            shutil.which("redis-server") or "redis-server", "--port", str(self.port),
            "--bind", "127.0.0.1", "--save", "", "--dir", str(folder),
            "--appendonly", "yes" if persistent else "no", "--appendfsync", "always",
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        wait_until(self._answers, 20, "redis-server to answer")

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # Redis's own clean shutdown
            self.process.wait(timeout=20)

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.RedisError:
            return False


@pytest.fixture
def private_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Start a private Redis and make this process's Celery app publish to it."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    servers: list[_Redis] = []

    def start(*, persistent: bool) -> _Redis:
        folder = tmp_path / f"redis-{len(servers)}"
        folder.mkdir()
        server = _Redis(folder, persistent=persistent)
        server.start()
        servers.append(server)
        monkeypatch.setenv("CELERY_BROKER_URL", server.url)  # Celery reads it before its conf
        _forget_connections()
        return server

    yield start
    for server in servers:
        server.stop()
    _forget_connections()  # the next publish opens a connection to the restored URL


def _forget_connections() -> None:
    """Celery caches its publishing connections (as its own after-fork hook, these two
    attributes); forgotten, the next publish connects to the broker URL now in force."""
    app._pool = None
    app.amqp._producer_pool = None


def test_redis_restarted_under_queued_and_running_studies_loses_none(
    workers, user, upload, private_redis
) -> None:
    """Redis with its append-only file (as ``docker/docker-compose.yml`` runs it) keeps the
    queue across a restart; the worker reconnects, and the task that was running when Redis went
    either finishes or is redone from its unacknowledged copy (a redone study is found done)."""
    redis = private_redis(persistent=True)
    worker = workers("through-restart", delay_s=4, visibility_timeout_s=5, broker_url=redis.url)
    studies = [
        services.study_create(user=user, file=upload(), sex="F", chronological_age_months=120)
        for _ in range(3)
    ]
    started = lambda: _status(studies[0]) == "running"  # noqa: E731
    wait_until(started, TIMEOUT_S, "the first study to start", worker=worker)
    redis.restart()
    wait_until(lambda: _finished(*studies), TIMEOUT_S, "every study after the restart")
    assert [s.status for s in studies] == ["done"] * 3
    assert Report.objects.filter(study__in=studies).count() == 3
    assert [s.attempts for s in studies[1:]] == [1, 1]  # the queued ones ran once, after it


def test_queued_studies_lost_with_a_redis_that_keeps_nothing_are_requeued_by_the_sweeper(
    workers, user, upload, private_redis, settings
) -> None:
    """A Redis run without persistence (as this machine's) forgets its queue when it restarts;
    the sweeper finds the studies queued too long and queues them again."""
    redis = private_redis(persistent=False)
    studies = [
        services.study_create(user=user, file=upload(), sex="M", chronological_age_months=100)
        for _ in range(2)
    ]
    redis.restart()
    import redis as redis_client

    assert redis_client.Redis.from_url(redis.url).dbsize() == 0  # the messages are gone
    settings.BONEAGE_QUEUED_STALE_S = 0
    actions = services.studies_sweep()
    assert sorted(actions["requeued"]) == sorted(s.pk for s in studies)
    worker = workers("after-sweep", broker_url=redis.url)
    wait_until(lambda: _finished(*studies), TIMEOUT_S, "the swept studies", worker=worker)
    assert [s.status for s in studies] == ["done"] * 2


@pytest.fixture
def web_through(tmp_path: Path) -> Iterator:
    """gunicorn serving the clinic on the test database through a :class:`TcpProxy`."""
    db = settings.DATABASES["default"]
    proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    env = {
        **service_environment(database=database_url(port=proxy.port)),
        "DJANGO_SETTINGS_MODULE": "clinic.settings.local",
    }
    try:
        with gunicorn_serving(env, log=tmp_path / "web.log") as base:
            yield base, proxy
    finally:
        proxy.close()


def test_postgresql_unreachable_is_a_clean_503_and_a_retry_works(
    web_through, user, phantom_png
) -> None:
    base, proxy = web_through
    _, token = api_token_create(user=user, name="outage")
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    studies = f"{base}/api/v1/studies/"

    def upload() -> requests.Response:
        image = {"image": ("hand.png", phantom_png, "image/png")}
        return api.post(studies, files=image, data={"sex": "F"}, timeout=30)

    assert api.get(studies, timeout=30).status_code == 200  # a pooled connection is open
    proxy.cut()
    health = requests.get(f"{base}/healthz", timeout=30)
    assert (health.status_code, health.text) == (503, "database unavailable\n")
    for answer in (api.get(studies, timeout=30), upload()):
        assert answer.status_code == 503, (answer.request.method, answer.text[:300])
        assert answer.headers["Retry-After"] == "30"
        assert "database is not answering" in answer.json()["detail"]
    assert Study.objects.count() == 0  # the refused upload stored nothing

    proxy.restore()
    retried = upload()
    assert retried.status_code == 201, retried.text[:300]
    assert Study.objects.filter(pk=retried.json()["id"]).exists()
    assert requests.get(f"{base}/healthz", timeout=30).status_code == 200

"""A real Celery worker in a subprocess, on the same test database, broker and media as the test.

Used by the integration and browser tests. The worker gets the test database's name (pytest-django
made ``test_<name>``) through ``DATABASE_URL``, so what the test commits the worker reads.
``delay_s`` makes every assessment wait that long first and ``crash`` makes it kill its process
(through ``faulty_worker.py``), so that a test can fault the worker while a task surely runs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def services_available() -> bool:
    """Whether the test runs on PostgreSQL and Redis (the worker cannot share SQLite's memory)."""
    return connection.vendor == "postgresql" and settings.CELERY_BROKER_URL.startswith("redis")


def database_url(*, port: int | None = None) -> str:
    """The test database's URL, through ``port`` on loopback when given (a proxy)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host = "127.0.0.1" if port else db["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{port or db['PORT'] or 5432}/{db['NAME']}"


def flush_broker() -> None:
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def service_environment(
    *, database: str | None = None, broker_url: str | None = None
) -> dict[str, str]:
    """The environment of a server process (a worker, a web server) that shares the test's
    database (or ``database``, e.g. through a proxy), broker (or ``broker_url``), media folder
    and identifier key."""
    env = {
        **os.environ,
        "DATABASE_URL": database or database_url(),
        "CELERY_BROKER_URL": broker_url or settings.CELERY_BROKER_URL,
        "BONEAGE_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "BONEAGE_IDENTIFIER_KEY": settings.BONEAGE_IDENTIFIER_KEY,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop("PYTEST_VERSION", None)
    return env


def start_worker(
    name: str,
    log_dir: Path,
    *,
    delay_s: float = 0.0,
    visibility_timeout_s: int | None = None,
    crash: bool = False,
    broker_url: str | None = None,
    environment: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``celery worker`` (prefork, one child) consuming this device's queue; ``crash``
    makes every assessment kill its process, ``broker_url`` replaces the test's broker, and
    ``environment`` adds settings."""
    env = {
        **service_environment(broker_url=broker_url),
        "BONEAGE_TEST_ASSESS_DELAY_S": str(delay_s),
        "BONEAGE_TEST_ASSESS_CRASH": "1" if crash else "0",
        "OMP_NUM_THREADS": "1",
        **(environment or {}),
    }
    if visibility_timeout_s is not None:
        env["BONEAGE_VISIBILITY_TIMEOUT_S"] = str(visibility_timeout_s)
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    command = [
        sys.executable, str(Path(__file__).with_name("faulty_worker.py")), "worker",
        "--queues", settings.BONEAGE_DEVICE, "--concurrency", "1", "--pool", "prefork",
        "--hostname", f"{name}@%h", "--loglevel", "INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    worker.log_path = log_path  # type: ignore[attr-defined]
    return worker


def pool_children(worker: subprocess.Popen[bytes]) -> list[int]:
    """Process ids of the worker's pool children (Linux /proc)."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_until(
    condition: Callable[[], bool],
    timeout_s: float,
    what: str,
    *,
    worker: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll ``condition`` every 0.2 s; fail with the worker's log if it dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        if worker is not None and worker.poll() is not None:
            raise AssertionError(
                f"the worker exited while waiting for {what}:\n{_log_tail(worker)}"
            )
        time.sleep(0.2)
    tail = _log_tail(worker) if worker is not None else ""
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}\n{tail}")


@contextmanager
def gunicorn_serving(
    env: dict[str, str], *, log: Path, ready: str = "/healthz", timeout_s: float = 60
) -> Iterator[str]:
    """gunicorn (one worker) serving the clinic with ``env`` on a free loopback port, from the
    moment ``ready`` answers 200 until the block ends; yields the base URL. A refused connection
    or a read timeout counts as not ready yet: on a loaded machine the first request may still
    be importing the app."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = Path(sys.executable).with_name("gunicorn")

    def answers() -> bool:
        try:
            return requests.get(f"{base}{ready}", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    with log.open("wb") as out:
        web = subprocess.Popen(
            [str(gunicorn), "clinic.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_until(answers, timeout_s, f"gunicorn to answer {ready}")
            yield base
        finally:
            web.terminate()
            web.wait(timeout=20)


def _log_tail(worker: subprocess.Popen[bytes], lines: int = 30) -> str:
    log: Path = worker.log_path  # type: ignore[attr-defined]
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

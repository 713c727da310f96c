"""The test suite's settings (``pyproject.toml`` names this module for pytest-django).

The suite talks to the real PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379 whenever
they answer; with ``CI=true`` they must, and a missing server is an error rather than a silent
fallback. This is the one settings module that probes a socket: pytest-django reads the settings
before any conftest could choose, and the choice belongs to the test run, not to a deployment.
Without them (a developer's laptop), SQLite in memory and Celery's in-memory broker.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from clinic.settings.base import *  # noqa: F403
from clinic.settings.base import (
    BONEAGE_VISIBILITY_TIMEOUT_S,
    ImproperlyConfigured,
    broker_options,
    database,
    flag,
    os,
)

CI = flag("CI", False)


def _answers(url: str) -> bool:
    """Whether a TCP server listens at the URL's host and port (0.5 s timeout)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 0.5):
            return True
    except OSError:
        return False


def _service(name: str, server: str, fallback: str) -> str:
    """The environment's URL, else the test server's when it answers, else ``fallback``."""
    if os.environ.get(name):
        return os.environ[name]
    if _answers(server):
        return server
    if CI:
        raise ImproperlyConfigured(f"CI=true but nothing answers at {server} ({name})")
    return fallback


SECRET_KEY = "test-only-key"
BONEAGE_IDENTIFIER_KEY = os.environ.get("BONEAGE_IDENTIFIER_KEY") or "test-identifier-key"
DATABASE_URL = _service(
    "DATABASE_URL",
    os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"),
    "sqlite:///:memory:",
)
DATABASES = {"default": database(DATABASE_URL)}
CELERY_BROKER_URL = _service(
    "CELERY_BROKER_URL",
    os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/13"),
    "memory://",
)
CELERY_BROKER_TRANSPORT_OPTIONS = broker_options(CELERY_BROKER_URL, BONEAGE_VISIBILITY_TIMEOUT_S)

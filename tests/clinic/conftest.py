"""Fixtures of the clinic tests: users in institutions, phantom uploads, a fake engine.

Also used by tests/clinic/api/.
"""

from __future__ import annotations

import importlib
import io
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.contract_sample import contract_assessment

__all__ = ["contract_assessment"]


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test stores files in its own folder, never in var/media; passwords hash fast."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def phantom_png_bytes(*, seed: int = 3, age_months: float = 120.0, sex: str = "F") -> bytes:
    """A phantom hand radiograph as 16-bit PNG bytes (``boneage.phantom``)."""
    from clinic.management.commands.bootstrap_demo import phantom_png

    return phantom_png(seed=seed, age_months=age_months, sex=sex)


@pytest.fixture(scope="session")
def phantom_png() -> bytes:
    return phantom_png_bytes()


@pytest.fixture
def institution(db: None) -> Any:
    from clinic.models import Institution

    return Institution.objects.create(name="St Elsewhere")


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    """Make a user who belongs to ``institution`` (a new one when not given)."""
    from django.contrib.auth import get_user_model

    from clinic.models import Institution, Membership

    def make(username: str, institution: Any = None, **extra: Any) -> Any:
        user = get_user_model().objects.create_user(username=username, password="pw", **extra)
        institution = institution or Institution.objects.create(name=f"{username}'s hospital")
        Membership.objects.create(user=user, institution=institution)
        return user

    return make


@pytest.fixture
def user(make_user: Callable[..., Any], institution: Any) -> Any:
    return make_user("clinician", institution)


@pytest.fixture
def other_user(make_user: Callable[..., Any]) -> Any:
    """A user of another institution, who must never see ``user``'s studies."""
    return make_user("outsider")


def fake_assessment(data: dict[str, Any]) -> Any:
    """The engine's own ``Assessment`` of ``data`` (validated against the contract) with a
    small overlay image and two stage timings: what ``assess`` returns, without the models."""
    from boneage.assess import Assessment
    from boneage.contract import read_assessment

    return Assessment(
        read_assessment(data),
        overlay=np.zeros((32, 32, 3), dtype=np.uint8),
        seconds={"segmentation": 0.04, "cnn": 0.05},
    )


def _engine_module(monkeypatch: pytest.MonkeyPatch, name: str) -> types.ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        module = types.ModuleType(name)
        monkeypatch.setitem(sys.modules, name, module)
        return module


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """Replace ``boneage.assess.assess`` and ``boneage.registry.load_models`` by fast fakes.

    For tests of the clinic's own logic (status transitions, report fields, scoping); the real
    engine runs in the integration and browser tests. ``engine.answer(multistep=…, endtoend=…)``
    sets the estimates assess returns, ``engine.raises`` an error it raises instead,
    ``engine.calls`` the keyword arguments it saw.
    """
    engine = types.SimpleNamespace(
        result=fake_assessment(contract_assessment()), raises=None, calls=[], loads=0
    )
    engine.answer = lambda **ages: setattr(
        engine, "result", fake_assessment(contract_assessment(**ages))
    )

    def assess(radiograph: Any, **kwargs: Any) -> Any:
        engine.calls.append(kwargs)
        if engine.raises is not None:
            raise engine.raises
        return engine.result

    def load_models(directory: object = None, device: str = "cpu") -> str:
        engine.loads += 1
        return "bundle"

    monkeypatch.setattr(_engine_module(monkeypatch, "boneage.assess"), "assess", assess,
                        raising=False)  # fmt: skip
    monkeypatch.setattr(_engine_module(monkeypatch, "boneage.registry"), "load_models",
                        load_models, raising=False)  # fmt: skip
    return engine


@pytest.fixture
def upload(phantom_png: bytes) -> Callable[..., Any]:
    """An uploaded file as a view or service receives it (the phantom PNG by default)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def make(data: bytes | None = None, name: str = "hand.png") -> Any:
        return SimpleUploadedFile(name, phantom_png if data is None else data, "image/png")

    return make


@pytest.fixture
def done_study(user: Any, upload: Callable[..., Any], fake_engine: Any) -> Any:
    """A study of ``user`` assessed (by the fake engine) and with its report."""
    from clinic import services

    study = services.study_create(user=user, file=upload(), sex="F", chronological_age_months=120)
    services.run_assessment(study_id=study.pk)
    study.refresh_from_db()
    return study


def png_bytes(array: np.ndarray) -> bytes:
    """PNG encoding of a uint8 or uint16 array (used by tests/clinic/api/)."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def real_services() -> None:
    """Skip unless the test runs on PostgreSQL and Redis (a real worker cannot share SQLite's
    memory); start with an empty queue."""
    from tests.clinic.worker_process import flush_broker, services_available

    if not services_available():
        pytest.skip("needs PostgreSQL and Redis (required with CI=true by clinic/settings/test.py)")
    flush_broker()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``workers(name, **options)`` starts a real Celery worker
    (:func:`tests.clinic.worker_process.start_worker`); every one is stopped at the end."""
    from tests.clinic.worker_process import start_worker, stop

    started = []

    def start(name: str, **options: Any) -> Any:
        started.append(start_worker(name, tmp_path, **options))
        return started[-1]

    yield start
    for worker in started:
        stop(worker)

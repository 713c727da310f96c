"""Fixtures of the clinic tests: users in institutions, phantom uploads, a fake engine.

Also used by tests/clinic/api/.
"""

from __future__ import annotations

import importlib
import io
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test stores files in its own folder, never in var/media; passwords hash fast."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def phantom_png_bytes(*, seed: int = 3, age_months: float = 120.0, sex: str = "F") -> bytes:
    """A phantom hand radiograph as 16-bit PNG bytes (``boneage.training.phantom``)."""
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


def contract_assessment(*, multistep: float = 121.4, endtoend: float = 118.9) -> dict[str, Any]:
    """An assessment dictionary in the shape of docs/architecture.md (schema_version 1)."""
    return {
        "schema_version": 1,
        "input": {"sex": "F", "sex_source": "argument", "source_format": "PNG",
                  "spacing_mm": None, "spacing_source": None, "laterality": "L"},
        "multistep": {"age_months": multistep, "interval_months": [multistep - 12, multistep + 12],
                      "note": "reference table fitted on 400 phantoms",
                      "model": {"segmentation": "unet-demo-1.0.0",
                                "reference": "reference-default-1.0.0"},
                      "spacing_mode": "ratios",
                      "bones": [{"bone": "metacarpal_3", "kind": "long", "length_mm": None,
                                 "length_ratio": 1.0, "relative_size": None,
                                 "physis_fused": None, "age_months": 119.0, "outlier": False},
                                {"bone": "metacarpal_5", "kind": "long", "length_mm": None,
                                 "length_ratio": 0.62, "relative_size": None,
                                 "physis_fused": None, "age_months": 171.0, "outlier": True},
                                {"bone": "radius_epiphysis", "kind": "epiphysis",
                                 "length_mm": None, "length_ratio": None, "relative_size": 0.87,
                                 "physis_fused": False, "age_months": None, "outlier": False}],
                      "ossification": {"present": ["radius_epiphysis"], "absent": [],
                                       "physes_fused": [], "physes_open": ["radius_epiphysis"]},
                      "outliers": ["metacarpal_5"], "fragmented_fraction": 0.04},
        "endtoend": {"age_months": endtoend, "interval_months": [endtoend - 15, endtoend + 15],
                     "note": "CNN trained on 400 phantoms",
                     "model": {"regression": "cnn-demo-1.0.0"}},
        "agreement": {"agree": abs(multistep - endtoend) < 24,
                      "difference_months": abs(multistep - endtoend),
                      "flag_for_review": abs(multistep - endtoend) >= 24,
                      "reason": "within their combined uncertainty"},
        "quality": {"checks": [{"name": "is_hand", "passed": True, "detail": "hand-like"}],
                    "corrections": []},
        "chronological": {"age_months": 120.0, "difference_months": endtoend - 120.0, "sds": 0.1,
                          "sds_interval": [-0.9, 1.1],
                          "category": "within normal", "based_on": "endtoend",
                          "by_method": {
                              "multistep": {"difference_months": multistep - 120.0, "sds": 0.1,
                                            "category": "within normal"},
                              "endtoend": {"difference_months": endtoend - 120.0, "sds": 0.1,
                                           "category": "within normal"}}},
        "models": {},
    }  # fmt: skip


@dataclass
class FakeAssessment:
    """Stands in for ``boneage.assess.Assessment``: the contract dict and an overlay image."""

    data: dict[str, Any]
    overlay: np.ndarray | None = field(
        default_factory=lambda: np.zeros((32, 32, 3), dtype=np.uint8)
    )

    def to_dict(self) -> dict[str, Any]:
        return self.data


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
        result=FakeAssessment(contract_assessment()), raises=None, calls=[], loads=0
    )
    engine.answer = lambda **ages: setattr(
        engine, "result", FakeAssessment(contract_assessment(**ages))
    )

    def assess(radiograph: Any, **kwargs: Any) -> FakeAssessment:
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

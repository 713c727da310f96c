"""Fixtures of the API tests: tokens, authenticated clients, studies with stored reports.

A "done" study here is a study created by the real ``services.study_create`` from a phantom PNG
whose Report row is stored directly (a factory), with the contract-shaped assessment of
``tests/clinic/conftest.py``: the API only serves what is stored, so these tests need no model.
The end-to-end run with the real engine is ``test_api_client_example.py``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from boneage.contract import read_assessment
from boneage.report.chart import render_chart
from clinic.api.tokens import api_token_create
from clinic.models import Report, Study
from clinic.services import study_create
from tests.clinic.conftest import contract_assessment, png_bytes


@pytest.fixture(autouse=True)
def _generous_rate(settings: Any) -> None:
    """No test is throttled unless it lowers the rate itself; the cache starts empty."""
    from django.core.cache import cache

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_token": "10000/min"},
    }
    cache.clear()


@pytest.fixture
def token(user: Any) -> str:
    return api_token_create(user=user, name="pacs")[1]


@pytest.fixture
def client_for() -> Callable[[Any], APIClient]:
    """An API client authenticated with a new token of ``user``."""

    def make(user: Any) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, name='t')[1]}")
        return client

    return make


@pytest.fixture
def api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def upload(phantom_png: bytes) -> Callable[..., ContentFile]:
    def make(data: bytes | None = None, name: str = "hand.png") -> ContentFile:
        return ContentFile(phantom_png if data is None else data, name=name)

    return make


@pytest.fixture
def make_study(upload: Callable[..., ContentFile]) -> Callable[..., Study]:
    """A queued study of ``user``, through the real service."""

    def make(user: Any, **fields: Any) -> Study:
        return study_create(user=user, file=upload(), **{"sex": "F", **fields})

    return make


def store_report(study: Study, assessment: dict[str, Any] | None = None) -> Report:
    """Store a report for ``study`` as the worker would (files in reports/ID/); mark it done."""
    assessment = assessment or contract_assessment()
    overlay = np.zeros((24, 24, 3), dtype=np.uint8)
    overlay[8:16, 8:16] = (255, 0, 0)
    report = Report.objects.create(
        study=study,
        assessment=assessment,
        schema_version=assessment["schema_version"],
        multistep_age_months=assessment["multistep"].get("age_months"),
        endtoend_age_months=assessment["endtoend"].get("age_months"),
        chart=default_storage.save(
            f"reports/{study.pk}/chart.png",
            ContentFile(render_chart(read_assessment(assessment))),
        ),
        overlay=default_storage.save(
            f"reports/{study.pk}/overlay.png", ContentFile(png_bytes(overlay))
        ),
    )
    study.status = Study.Status.DONE
    study.save(update_fields=["status"])
    return report


@pytest.fixture
def done_study(make_study: Callable[..., Study], user: Any) -> Study:
    study = make_study(user, accession_number="ACC-1", patient_id="PAT-1")
    store_report(study)
    return study


def stored_files() -> list[Path]:
    """Every file under MEDIA_ROOT: a rejected request must add none."""
    return sorted(path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file())


def multipart_png(data: bytes) -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = "hand.png"
    return buffer

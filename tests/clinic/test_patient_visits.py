"""The child across visits on the report and reading pages: the table, the velocities, the
chart, and nothing of another patient or another institution."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.urls import reverse
from PIL import Image

from clinic import services, signing
from clinic.models import Study


@pytest.fixture
def assessed(upload: Callable[..., Any], fake_engine: Any) -> Callable[..., Study]:
    """A study assessed by the fake engine with the given estimates."""

    def make(user: Any, *, multistep: float, endtoend: float, **fields: Any) -> Study:
        fake_engine.answer(multistep=multistep, endtoend=endtoend)
        study = services.study_create(user=user, file=upload(), sex="F", **fields)
        services.run_assessment(study_id=study.pk)
        study.refresh_from_db()
        return study

    return make


def test_the_report_links_the_childs_other_visits_with_their_velocity_and_chart(
    client: Any, user: Any, other_user: Any, assessed: Callable[..., Study]
):
    first = assessed(user, multistep=90.0, endtoend=100.0, patient_id="MRN-5",
                     birth_date=date(2016, 1, 1), exam_date=date(2024, 1, 1))  # fmt: skip
    second = assessed(user, multistep=114.0, endtoend=106.0, patient_id="MRN-5",
                      birth_date=date(2016, 1, 1), exam_date=date(2025, 1, 1))  # fmt: skip
    stranger = assessed(user, multistep=50.0, endtoend=50.0, patient_id="MRN-6")
    elsewhere = assessed(other_user, multistep=70.0, endtoend=70.0, patient_id="MRN-5")
    signing.review_sign(report=first.report, reviewer=user, accept="multistep")
    client.force_login(user)
    for name in ("study-report", "reading"):
        page = client.get(reverse(name, args=[second.pk])).content.decode()
        assert "This child&#x27;s visits" in page or "This child's visits" in page
        assert reverse("study-report", args=[first.pk]) in page
        assert f"#{second.pk}, 2025-01-01 (this study)" in page
        assert reverse("study-report", args=[stranger.pk]) not in page
        assert f"#{elsewhere.pk}," not in page
        # 24 months of multi-step bone age over 12 months of life (1 Jan 2024 to 1 Jan 2025).
        assert (
            "multi-step: <strong>1.97</strong>" in page
            or "multi-step: <strong>2.00</strong>" in page
        )
        assert reverse("study-visits-chart", args=[second.pk]) in page
    chart = client.get(reverse("study-visits-chart", args=[second.pk]))
    assert chart.status_code == 200 and chart["Cache-Control"] == "no-store"
    assert Image.open(io.BytesIO(chart.content)).format == "PNG"
    lonely = client.get(reverse("study-report", args=[stranger.pk])).content.decode()
    assert "visits" not in lonely.lower().replace("visits.png", "")
    assert client.get(reverse("study-visits-chart", args=[stranger.pk])).status_code == 404
    client.force_login(other_user)
    assert client.get(reverse("study-visits-chart", args=[second.pk])).status_code == 404
    assert (
        f"#{second.pk},"
        not in client.get(reverse("study-report", args=[elsewhere.pk])).content.decode()
    )


def test_studies_without_a_patient_id_are_not_one_child(
    client: Any, user: Any, assessed: Callable[..., Study]
):
    one = assessed(user, multistep=90.0, endtoend=100.0)
    assessed(user, multistep=95.0, endtoend=105.0)
    client.force_login(user)
    assert "This child" not in client.get(reverse("study-report", args=[one.pk])).content.decode()

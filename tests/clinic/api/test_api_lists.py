"""The light list, the patient's studies across visits, and query parameters refused by name."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from clinic.models import Study
from clinic.signing import review_sign
from tests.clinic.api.conftest import store_report

LIST = "/api/v1/studies/"


def test_the_list_gives_each_studys_key_figures_not_its_assessment(
    api: APIClient, done_study: Study, user: Any
):
    """20 studies were 308 KB: each carried its whole assessment."""
    review_sign(report=done_study.report, reviewer=user, corrected_age_months=130.0, reason="TW3")
    with CaptureQueriesContext(connection) as queries:
        listed = api.get(LIST).json()["results"][0]
    assert "report" not in listed and "signatures" not in listed
    report = done_study.report
    assert listed["summary"] == {
        "multistep_age_months": report.multistep_age_months,
        "endtoend_age_months": report.endtoend_age_months,
        "combined_age_months": report.combined_age_months,
        "agree": report.agree,
        "flag_for_review": report.flag_for_review,
        "category": report.category,
        "signed_bone_age_months": 130.0,
        "signed_at": listed["summary"]["signed_at"],
    }
    assert listed["summary"]["signed_at"] is not None
    assert not any('"assessment"' in query["sql"] for query in queries.captured_queries)
    detail = api.get(listed["urls"]["self"]).json()
    assert detail["summary"] == listed["summary"]
    assert detail["report"] == report.assessment
    assert len(json.dumps(listed)) * 3 < len(json.dumps(detail))


def test_a_study_not_done_has_no_summary(
    api: APIClient, make_study: Callable[..., Study], user: Any
):
    queued = make_study(user)
    (listed,) = api.get(LIST).json()["results"]
    assert (listed["id"], listed["status"], listed["summary"]) == (queued.pk, "queued", None)


def test_the_list_filters_by_patient_id(
    api: APIClient, make_study: Callable[..., Study], user: Any
):
    """``?patient_id=`` was once ignored in silence: every study came back."""
    mine = make_study(user, patient_id="MRN-1")
    make_study(user, patient_id="MRN-2")
    listed = api.get(LIST, {"patient_id": "MRN-1"}).json()["results"]
    assert [study["id"] for study in listed] == [mine.pk]
    assert api.get(LIST, {"patient_id": "MRN-3"}).json()["results"] == []


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (LIST, {"patient": "MRN-1"}),
        (LIST, {"statsu": "done"}),
        ("{study}", {"limit": "5"}),
        ("{study}fhir/", {"patientid": "MRN-1"}),
        ("{study}overlay.png", {"v": "2"}),
    ],
)
def test_a_query_parameter_the_endpoint_does_not_take_is_400_naming_it(
    api: APIClient, done_study: Study, path: str, query: dict[str, str]
):
    url = path.format(study=f"{LIST}{done_study.pk}/")
    response = api.get(url, query, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_query_parameter"
    assert next(iter(query)) in body["detail"]


def test_the_parameters_an_endpoint_takes_are_still_taken(api: APIClient, done_study: Study):
    query = {"limit": 1, "offset": 0, "status": "done", "format": "json"}
    assert api.get(LIST, query).status_code == 200
    assert api.get(f"{LIST}{done_study.pk}/", {"format": "json"}).status_code == 200


PATIENT = "/api/v1/patients/{}/studies/"


def test_a_patients_studies_come_in_the_order_of_the_visits_within_the_institution(
    api: APIClient,
    make_study: Callable[..., Study],
    user: Any,
    other_user: Any,
):
    later = make_study(user, patient_id="MRN-7", exam_date=date(2024, 6, 1))
    earlier = make_study(user, patient_id="MRN-7", exam_date=date(2023, 1, 1))
    store_report(earlier)
    undated = make_study(user, patient_id="MRN-7")
    make_study(user, patient_id="MRN-8")
    make_study(other_user, patient_id="MRN-7")
    body = api.get(PATIENT.format("MRN-7")).json()
    assert [study["id"] for study in body["results"]] == [earlier.pk, later.pk, undated.pk]
    assert body["results"][0]["summary"] is not None
    assert body["results"][1]["summary"] is None


def test_a_patient_id_without_studies_is_404_also_when_another_institution_has_it(
    api: APIClient, make_study: Callable[..., Study], other_user: Any
):
    make_study(other_user, patient_id="MRN-9")
    response = api.get(PATIENT.format("MRN-9"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "MRN-9" not in response.content.decode()

"""The OpenAPI schema tells the truth: fuzzed calls (schemathesis, in-process WSGI) never get a
5xx and every answer, status, content type and body included, is one the schema documents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clinic.models import Study
from tests.boneage.fuzz_files import FUZZ_SCALE

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 25 * FUZZ_SCALE
"""Per operation: enough to reach every documented error of the six operations, in seconds (more
in ``bench/bench_fuzz.py``)."""


@pytest.fixture
def api_schema(db: None) -> Iterator[Any]:
    """The schema, loaded from the app in-process; calls go to the same WSGI app.

    As Django's own test client does, the app must not close the test's database connection at
    the end of each request (the test's transaction lives on it).
    """
    from clinic.wsgi import application

    signals = (request_started, request_finished)
    for signal in signals:
        signal.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    finally:
        for signal in signals:
            signal.connect(close_old_connections)


def test_fuzzed_calls_get_no_server_error_and_only_documented_answers(
    api_schema: Any, token: str, done_study: Study
):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def call(case: Any) -> None:
            # Every other generated id names a real study, so that 200 answers are checked too.
            if case.path_parameters and case.path_parameters.get("study_id", 1) % 2 == 0:
                case.path_parameters["study_id"] = done_study.pk
            if case.path_parameters and len(case.path_parameters.get("patient_id", "")) % 2:
                case.path_parameters["patient_id"] = done_study.patient_id
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            case.validate_response(response, checks=CHECKS)

        call()


def test_every_operation_documents_authentication_and_throttling(api_schema: Any):
    raw = api_schema.raw_schema
    assert raw["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "http", "scheme": "bearer"
    }  # fmt: skip
    operations = [op for path in raw["paths"].values() for op in path.values()]
    assert len(operations) == 8
    for operation in operations:
        assert {"401", "429"} <= set(operation["responses"]), operation["operationId"]
        assert operation.get("summary"), operation["operationId"]


def test_the_real_answers_of_a_done_study_match_the_schema(
    api_schema: Any, token: str, done_study: Study
):
    for path in [
        "/api/v1/studies/",
        "/api/v1/studies/{study_id}/",
        "/api/v1/studies/{study_id}/fhir/",
        "/api/v1/studies/{study_id}/chart.png",
        "/api/v1/studies/{study_id}/overlay.png",
        "/api/v1/patients/{patient_id}/studies/",
    ]:
        operation = api_schema[path]["GET"]
        ids = {"study_id": done_study.pk} if "{study_id}" in path else None
        if "{patient_id}" in path:
            ids = {"patient_id": done_study.patient_id}
        case = operation.Case(path_parameters=ids)
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, path
        case.validate_response(response, checks=CHECKS)


def test_the_docs_page_loads_nothing_from_outside(client: Any):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "https://" not in html
    assert "<script>" not in html  # no inline script: production's CSP would block it
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()

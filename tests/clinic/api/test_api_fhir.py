"""``/api/v1/studies/{id}/fhir/``: the stored report as a FHIR R4 DiagnosticReport."""

from __future__ import annotations

import json
from typing import Any

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from rest_framework.test import APIClient

from clinic.models import Study
from clinic.signing import review_sign


def _fhir(api: APIClient, study: Study, **query: str) -> Any:
    return api.get(f"/api/v1/studies/{study.pk}/fhir/", query)


def test_a_done_study_is_a_preliminary_diagnostic_report_in_fhir_json(
    api: APIClient, done_study: Study
):
    response = _fhir(api, done_study)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    wire = json.loads(response.content)
    parsed = DiagnosticReport.model_validate_json(response.content)
    assert json.loads(parsed.model_dump_json()) == wire
    assert wire["status"] == "preliminary"
    assert wire["id"] == f"boneage-study-{done_study.pk}"
    # no exam date: the film was taken no later than its upload
    observation = next(r for r in wire["contained"] if r["resourceType"] == "Observation")
    assert observation["effectivePeriod"]["end"].startswith(str(done_study.created_at.date()))
    assert "effectiveDateTime" not in observation
    # the study's own identifiers, given at upload, in the institution's identifier systems
    institution = done_study.institution
    assert wire["identifier"][0]["value"] == "ACC-1"
    assert (
        wire["identifier"][0]["system"]
        == f"urn:boneage:institution:{institution.pk}:accession-number"
    )
    assert wire["subject"]["identifier"]["value"] == "PAT-1"
    institution.patient_id_system = "urn:oid:1.2.36.146.595.217.0.1"
    institution.save()
    wire = json.loads(_fhir(api, done_study).content)
    assert wire["subject"]["identifier"]["system"] == "urn:oid:1.2.36.146.595.217.0.1"


def test_identifiers_given_by_the_caller_are_echoed_only_when_they_match(
    api: APIClient, done_study: Study
):
    wire = json.loads(_fhir(api, done_study, accession_number="ACC-1", patient_id="PAT-1").content)
    assert wire["identifier"][0]["value"] == "ACC-1"
    assert wire["subject"]["identifier"]["value"] == "PAT-1"
    wrong = _fhir(api, done_study, accession_number="ACC-2")
    assert wrong.status_code == 400
    assert json.loads(wrong.content)["issue"][0]["details"]["text"] == "invalid_study_data"


def test_a_signed_report_is_final(api: APIClient, done_study: Study, user: Any):
    review_sign(report=done_study.report, reviewer=user, accept="endtoend")
    wire = json.loads(_fhir(api, done_study).content)
    assert wire["status"] == "final"
    assert wire["result"][0]["reference"] == "#reviewed"


def test_plain_json_may_be_asked_for(api: APIClient, done_study: Study):
    response = api.get(f"/api/v1/studies/{done_study.pk}/fhir/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_errors_of_the_fhir_endpoint_are_operation_outcomes(api: APIClient, done_study: Study):
    """Error bodies were sent as fhir+json without being FHIR."""
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    wrong = _fhir(api, done_study, accession_number="ACC-2")
    assert wrong.status_code == 400 and wrong["Content-Type"] == "application/fhir+json"
    outcome = OperationOutcome.model_validate_json(wrong.content)
    assert outcome.issue[0].code == "invalid" and "does not match" in outcome.issue[0].diagnostics
    missing = api.get("/api/v1/studies/999999/fhir/")
    assert missing.status_code == 404
    assert json.loads(missing.content)["issue"][0]["code"] == "not-found"
    plain = api.get(
        f"/api/v1/studies/{done_study.pk}/fhir/?accession_number=ACC-2",
        HTTP_ACCEPT="application/json",
    )
    assert plain.json()["code"] == "invalid_study_data"

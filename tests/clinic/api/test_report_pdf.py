"""The report as a PDF: opened with pypdf and read back, preliminary and signed, and in FHIR."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from typing import Any

from pypdf import PdfReader
from rest_framework.test import APIClient

from clinic.models import Study
from clinic.signing import review_sign


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _pdf(api: APIClient, study: Study) -> bytes:
    response = api.get(f"/api/v1/studies/{study.pk}/report.pdf")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_an_unsigned_report_is_marked_preliminary_and_holds_the_estimates(
    api: APIClient, done_study: Study
):
    text = " ".join(_text(_pdf(api, done_study)).split())
    assert "PRELIMINARY: not signed by a clinician" in text
    assert f"Study #{done_study.pk}, {done_study.institution.name}" in text
    assert "Patient ID: PAT-1" in text and "Accession number: ACC-1" in text
    assert "Multi-step estimate" in text and "End-to-end estimate" in text
    assert "10 y 1 mo (121.4 months)" in text  # the sample assessment's multi-step age
    assert "Not signed." in text


def test_a_signed_report_names_every_signature_with_signer_time_and_institution(
    api: APIClient, done_study: Study, user: Any
):
    first = review_sign(report=done_study.report, reviewer=user, accept="endtoend")
    review_sign(
        report=done_study.report,
        reviewer=user,
        corrected_age_months=130.0,
        reason="carpals read by hand",
    )
    text = " ".join(_text(_pdf(api, done_study)).split())
    assert "PRELIMINARY" not in text
    institution = done_study.institution.name
    signed_at = f"{first.signed_at:%Y-%m-%d %H:%M} UTC"
    assert (
        f"Signed by {user.get_username()} ({institution}) at {signed_at}: accepted the "
        "end-to-end estimate" in text
    )
    assert "superseded by a later signature" in text
    assert "corrected the bone age, bone age 10 y 10 mo (130.0 months); the reading of record" in (
        text
    )
    assert "Reason: carpals read by hand" in text


def test_the_signed_fhir_report_carries_the_pdf_as_presented_form(
    api: APIClient, done_study: Study, user: Any
):
    preliminary = json.loads(api.get(f"/api/v1/studies/{done_study.pk}/fhir/").content)
    assert "presentedForm" not in preliminary
    review_sign(report=done_study.report, reviewer=user, accept="endtoend")
    wire = json.loads(api.get(f"/api/v1/studies/{done_study.pk}/fhir/").content)
    (form,) = wire["presentedForm"]
    pdf = base64.b64decode(form["data"])
    assert form["contentType"] == "application/pdf" and form["size"] == len(pdf)
    assert base64.b64decode(form["hash"]) == hashlib.sha1(pdf).digest()
    assert f"Signed by {user.get_username()}" in " ".join(_text(pdf).split())


def test_a_study_without_a_report_has_no_pdf(api: APIClient, make_study, user: Any):
    study = make_study(user)
    response = api.get(f"/api/v1/studies/{study.pk}/report.pdf")
    assert response.status_code == 409

"""PACS in, PACS out, against a real Orthanc and a real Celery worker.

A DICOM hand film is stored into Orthanc, which forwards it by C-STORE to our listener; the worker
assesses it and sends the SR and the SC back into the film's study, where the test reads them from
Orthanc's REST API and checks the SR's values against the report. The report is then signed while
Orthanc is down: the signed result is not lost, the study page says it was not delivered, and once
Orthanc is back the sweep delivers it, once.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pydicom
import pytest

from clinic import signing
from clinic.models import Report, Study
from clinic.pacs import services as pacs_services
from clinic.pacs.models import Delivery
from tests.clinic.worker_process import wait_until
from tests.dicom_checks import dciodvfy_errors

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TIMEOUT_S = 300
RETRY = {"BONEAGE_PACS_BACKOFF_S": "1", "BONEAGE_PACS_ATTEMPTS": "2",
         "BONEAGE_PACS_RETRY_MAX_S": "1", "BONEAGE_PACS_TIMEOUT_S": "5"}  # fmt: skip


def _results(orthanc, study_uid: str, modality: str) -> list[pydicom.Dataset]:
    return [
        pydicom.dcmread(BytesIO(orthanc.file(instance["id"])))
        for instance in orthanc.instances_of_study(study_uid)
        if instance.get("Modality") == modality
    ]


def _bone_ages(sr: pydicom.Dataset) -> dict[str, float]:
    """Tracking identifier of each measurement group -> its bone age (LOINC 85151-9)."""
    (measurements,) = [
        item for item in sr.ContentSequence if item.ConceptNameCodeSequence[0].CodeValue == "126010"
    ]
    ages = {}
    for group in measurements.ContentSequence:
        label = next(i.TextValue for i in group.ContentSequence if i.ValueType == "TEXT")
        for item in group.ContentSequence:
            if item.ValueType == "NUM" and item.ConceptNameCodeSequence[0].CodeValue == "85151-9":
                ages[label] = float(item.MeasuredValueSequence[0].NumericValue)
    return ages


def _write(tmp_path: Path, name: str, dataset: pydicom.Dataset) -> Path:
    path = tmp_path / name
    dataset.save_as(path, enforce_file_format=True)
    return path


def test_a_film_forwarded_by_orthanc_comes_back_as_sr_and_sc_then_signed(
    orthanc, caller, destination, workers, user, hand_dicom, client, tmp_path
):
    worker = workers("pacs", environment=RETRY)
    film = hand_dicom(sex="F", PatientBirthDate="20150101", StudyDate="20250101")
    source = pydicom.dcmread(BytesIO(film))
    forwarded = orthanc.forward(orthanc.upload(film))
    assert forwarded.ok, forwarded.text

    def sent(kind: str) -> bool:
        return Delivery.objects.filter(kind=kind, status="sent").exists()

    wait_until(lambda: sent("unsigned"), TIMEOUT_S, "the unsigned results", worker=worker)
    study = Study.objects.get(sop_instance_uid=source.SOPInstanceUID)
    assert study.study_instance_uid == source.StudyInstanceUID and study.status == "done"
    report = Report.objects.get(study=study)
    (sr,) = _results(orthanc, source.StudyInstanceUID, "SR")
    (sc,) = _results(orthanc, source.StudyInstanceUID, "OT")
    assert sr.SeriesInstanceUID not in {source.SeriesInstanceUID, sc.SeriesInstanceUID}
    ages = _bone_ages(sr)
    for method in ("multistep", "endtoend"):
        expected = report.assessment[method].get("age_months")
        if expected is not None:
            assert ages[f"bone age, {method}"] == pytest.approx(expected, abs=0.01)
    assert sr.VerificationFlag == "UNVERIFIED"
    assert dciodvfy_errors(_write(tmp_path, "sr.dcm", sr)) == []
    assert dciodvfy_errors(_write(tmp_path, "sc.dcm", sc)) == []

    orthanc.stop()  # the PACS is down when the report is signed
    review = signing.review_sign(report=report, reviewer=user, accept="endtoend", confirmed=True)
    failed = lambda: Delivery.objects.filter(kind="signed", status="failed").exists()  # noqa: E731
    wait_until(failed, TIMEOUT_S, "the signed delivery to fail", worker=worker)
    delivery = Delivery.objects.get(kind="signed")
    assert "association refused" in delivery.last_error and delivery.attempts == 2
    client.force_login(user)
    page = client.get(f"/studies/{study.pk}/").content.decode()
    assert "not delivered to PACS" in page and "association refused" in page

    orthanc.start()  # back: the sweep (Celery beat's task) delivers what was waiting
    wait_until(
        lambda: bool(pacs_services.deliveries_sweep()) or sent("signed"),
        10, "a due delivery",
    )  # fmt: skip
    wait_until(lambda: sent("signed"), TIMEOUT_S, "the signed results", worker=worker)
    signed = [s for s in _results(orthanc, source.StudyInstanceUID, "SR") if
              s.VerificationFlag == "VERIFIED"]  # fmt: skip
    assert len(signed) == 1
    assert _bone_ages(signed[0])["bone age, signed"] == pytest.approx(review.bone_age_months)
    assert dciodvfy_errors(_write(tmp_path, "signed.dcm", signed[0])) == []
    assert "not delivered to PACS" not in client.get(f"/studies/{study.pk}/").content.decode()

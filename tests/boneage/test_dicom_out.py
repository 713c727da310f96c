"""The DICOM results: an SR whose numbers are the assessment's, a legible secondary capture, both
valid by dciodvfy, in the source's study or in a new one."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pydicom
import pytest

from boneage.contract import Reading, read_assessment
from boneage.dicom_out import (
    UNSIGNED_WARNING,
    DicomResult,
    ResultUids,
    Signature,
    build_results,
    from_dicom,
    new_study,
)
from tests.contract_sample import contract_assessment
from tests.dicom_checks import dciodvfy_errors, phantom_hand_dicom

RECORD = read_assessment(contract_assessment(multistep=121.4, endtoend=118.9))
FILM = np.tile(np.linspace(0, 255, 300), (400, 1)).astype(np.uint8)
SIGNATURE = Signature(
    observer_name="Ada Lovelace",
    signed_at=datetime(2025, 1, 2, 9, 30),
    bone_age_months=118.9,
    method="endtoend",
    organization="St Elsewhere",
    reading=Reading(age_months=120.0, difference_months=-1.1, sds=-0.1,
                    category="within normal", sd_source="Greulich & Pyle 1959"),
)  # fmt: skip


def _nums(sr: pydicom.Dataset) -> dict[tuple[str, str], float]:
    """(group's tracking identifier, concept meaning) -> value of every NUM in the report."""
    values = {}
    (measurements,) = [
        item for item in sr.ContentSequence if item.ConceptNameCodeSequence[0].CodeValue == "126010"
    ]
    for group in measurements.ContentSequence:
        label = next(i.TextValue for i in group.ContentSequence if i.ValueType == "TEXT")
        for item in group.ContentSequence:
            if item.ValueType == "NUM":
                meaning = item.ConceptNameCodeSequence[0].CodeMeaning
                values[label, meaning] = float(item.MeasuredValueSequence[0].NumericValue)
    return values


def _values(dataset: pydicom.Dataset) -> set[str]:
    """Every text, code value and unit anywhere in the content tree."""
    found = set()
    for item in dataset.get("ContentSequence", []):
        found.add(str(item.get("TextValue", "")))
        for sequence in ("ConceptNameCodeSequence", "ConceptCodeSequence"):
            found.update(str(code.CodeValue) for code in item.get(sequence, []))
        for measured in item.get("MeasuredValueSequence", []):
            found.add(str(measured.MeasurementUnitsCodeSequence[0].CodeValue))
        found |= _values(item)
    return found


def _write(tmp_path: Path, name: str, dataset: pydicom.Dataset) -> Path:
    path = tmp_path / name
    dataset.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize("signature", [None, SIGNATURE], ids=["unsigned", "signed"])
def test_results_join_the_dicom_source_study_and_pass_dciodvfy(tmp_path, signature):
    film = phantom_hand_dicom()
    source_header = pydicom.dcmread(pydicom.filebase.DicomBytesIO(film))
    sr, sc = build_results(
        DicomResult(RECORD, radiograph=FILM, signature=signature), from_dicom(film)
    )
    for dataset in (sr, sc):
        assert dataset.StudyInstanceUID == source_header.StudyInstanceUID
        assert dataset.PatientID == source_header.PatientID
        assert dataset.AccessionNumber == source_header.AccessionNumber
        assert dataset.SeriesInstanceUID != source_header.SeriesInstanceUID
    assert sr.SeriesInstanceUID != sc.SeriesInstanceUID
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert evidence.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == (
        source_header.SOPInstanceUID
    )
    assert sc.SourceImageSequence[0].ReferencedSOPInstanceUID == source_header.SOPInstanceUID
    for name, dataset in (("sr.dcm", sr), ("sc.dcm", sc)):
        assert dciodvfy_errors(_write(tmp_path, name, dataset)) == []


def test_the_sr_holds_the_assessment_values_with_their_codes():
    sr, _ = build_results(DicomResult(RECORD, radiograph=FILM), new_study(sex="F"))
    values = _nums(sr)
    for method, estimate in RECORD.estimates().items():
        low, high = estimate.interval_months
        reading = RECORD.chronological.by_method[method]
        label = f"bone age, {method}"
        assert values[label, "XR Bone age"] == pytest.approx(estimate.age_months, abs=0.01)
        assert values[label, "Lower limit of 90 % interval"] == pytest.approx(low, abs=0.01)
        assert values[label, "Upper limit of 90 % interval"] == pytest.approx(high, abs=0.01)
        assert values[label, "Subject Age"] == pytest.approx(reading.age_months)
        assert values[label, "Z-score"] == pytest.approx(reading.sds)
    found = _values(sr)
    assert {"85151-9", "mo"} <= found  # LOINC bone age, UCUM months
    assert {"boneage multi-step", "boneage end-to-end"} <= found  # the algorithms' names
    assert "regression: cnn-demo-1.0.0" in found  # the model behind each path
    assert (sr.CompletionFlag, sr.VerificationFlag) == ("PARTIAL", "UNVERIFIED")


def test_a_signed_sr_names_the_radiologist_and_marks_the_value_of_record():
    sr, _ = build_results(DicomResult(RECORD, radiograph=FILM, signature=SIGNATURE),
                          new_study(sex="F"))  # fmt: skip
    assert (sr.CompletionFlag, sr.VerificationFlag) == ("COMPLETE", "VERIFIED")
    assert str(sr.VerifyingObserverSequence[0].VerifyingObserverName) == "Lovelace^Ada"
    assert _nums(sr)["bone age, signed", "XR Bone age"] == pytest.approx(118.9)
    assert "121410" in _values(sr)  # selection status: user chosen value


def test_a_png_source_starts_a_new_study_whose_sr_references_the_capture(tmp_path):
    source = new_study(sex="M", patient_id="P9")
    assert not source.joined
    uids = ResultUids.new()
    sr, sc = build_results(DicomResult(RECORD, radiograph=FILM), source, uids=uids)
    assert sr.StudyInstanceUID == sc.StudyInstanceUID == source.study_instance_uid
    assert (sr.SOPInstanceUID, sc.SOPInstanceUID) == (uids.sr_instance, uids.sc_instance)
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert evidence.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == sc.SOPInstanceUID
    for name, dataset in (("sr.dcm", sr), ("sc.dcm", sc)):
        assert dciodvfy_errors(_write(tmp_path, name, dataset)) == []


def _red_pixels(sc: pydicom.Dataset) -> int:
    pixels = sc.pixel_array.astype(int)
    return int(((pixels[..., 0] > 200) & (pixels[..., 1] < 100) & (pixels[..., 2] < 100)).sum())


def test_the_capture_warns_in_red_until_signed_and_is_large_enough_to_read():
    unsigned = build_results(DicomResult(RECORD, radiograph=FILM), new_study(sex="F"))[1]
    signed = build_results(DicomResult(RECORD, radiograph=FILM, signature=SIGNATURE),
                           new_study(sex="F"))[1]  # fmt: skip
    assert UNSIGNED_WARNING == "NOT FOR DIAGNOSIS WITHOUT REVIEW"
    assert _red_pixels(unsigned) > 500 and _red_pixels(signed) == 0
    assert unsigned.Columns >= 1024 and unsigned.Rows > 400 * 1024 / 300  # film plus the panel
    assert unsigned.BurnedInAnnotation == "YES"

"""A study's DICOM results as the engine builds them (``boneage.dicom_out``), from what the clinic
stored: the original (whose study they join), the report's assessment and images, and for a
signed delivery the signature with its reading."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import numpy as np
from PIL import Image
from pydicom.uid import generate_uid

from boneage.contract import Reading
from boneage.dicom_out import (
    DicomResult,
    ResultUids,
    Signature,
    build_results,
    from_dicom,
    new_study,
)
from clinic import engine, selectors
from clinic.models import Review, Study
from clinic.pacs.models import Delivery


def _png(field: Any) -> np.ndarray | None:
    if not field:
        return None
    with field.open("rb") as file:
        return np.asarray(Image.open(BytesIO(file.read())))


def study_uid(study: Study) -> str:
    """The study's Study Instance UID: its own (kept from the DICOM tags or given), else one
    made from this study alone, so that the unsigned and the signed results of a PNG upload
    land in one new study."""
    return study.study_instance_uid or generate_uid(
        entropy_srcs=["boneage study", str(study.pk), study.original_sha256, str(study.created_at)]
    )


def _reading(reading: dict[str, Any]) -> Reading:
    return Reading.model_validate({k: reading[k] for k in Reading.model_fields if k in reading})


def _signature(review: Review) -> Signature:
    reading = selectors.review_reading(review)
    reviewer = review.reviewer
    return Signature(
        observer_name=reviewer.get_full_name() or reviewer.get_username(),
        signed_at=review.signed_at,
        bone_age_months=review.bone_age_months,
        method=review.accepted_method or None,
        reason=review.reason,
        organization=review.report.study.institution.name,
        reading=Reading.model_validate(
            {k: reading[k] for k in Reading.model_fields if k in reading}
        )
        if reading
        else None,
    )


def delivery_results(delivery: Delivery) -> list[Any]:
    """[SR, SC] of the delivery, with its UIDs."""
    study = delivery.study
    report = study.report
    if study.source_format == "DICOM":
        with study.original.open("rb") as original:
            source = from_dicom(original.read())
    else:
        source = new_study(
            sex=study.sex,
            patient_id=study.patient_id,
            patient_name=study.patient_name,
            birth_date=study.birth_date,
            accession_number=study.accession_number,
            study_instance_uid=study_uid(study),
            now=study.created_at,
        )
    result = DicomResult(
        record=engine.read_assessment(report.assessment),
        overlay=_png(report.overlay),
        radiograph=_png(report.radiograph),
        signature=_signature(delivery.review) if delivery.review else None,
        institution_name=study.institution.name,
    )
    uids = ResultUids(
        delivery.sr_series_uid,
        delivery.sr_instance_uid,
        delivery.sc_series_uid,
        delivery.sc_instance_uid,
    )
    return list(build_results(result, source, uids=uids))

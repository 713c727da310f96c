"""Reads that only the API makes, built on the institution scoping of ``clinic.access``."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404

from clinic.access import studies_visible_to
from clinic.errors import InvalidStudyData, ReportNotReady
from clinic.fhir import ReportContext, SignOff
from clinic.identifiers import identifier_hmac
from clinic.models import Study
from clinic.selectors import patient_studies as studies_of_patient


def study_api_list(
    *,
    user: AbstractBaseUser,
    status: str = "",
    accession_number: str = "",
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    patient_id: str = "",
) -> QuerySet[Study]:
    """The user's studies, newest first, filtered by status, accession number, patient ID and
    creation time.

    ``created_after`` is inclusive, ``created_before`` exclusive, so consecutive windows neither
    overlap nor miss a study.
    """
    studies = _summaries(studies_visible_to(user))
    if status:
        studies = studies.filter(status=status)
    for value, field in (
        (accession_number, "accession_number_hmac"),
        (patient_id, "patient_id_hmac"),
    ):
        if hashed := identifier_hmac(value):
            studies = studies.filter(**{field: hashed})
    if created_after:
        studies = studies.filter(created_at__gte=created_after)
    if created_before:
        studies = studies.filter(created_at__lt=created_before)
    return studies.order_by("-created_at", "-pk")


def patient_studies(*, user: AbstractBaseUser, patient_id: str) -> QuerySet[Study]:
    """The user's studies of one patient ID, oldest examination first (studies without an exam
    date by their upload time, after the dated ones), for following a child across visits.

    ``Http404`` when the institution has none: an empty list would not tell a mistyped ID from
    a child not seen yet.
    """
    studies = _summaries(studies_of_patient(user=user, patient_id_hmac=identifier_hmac(patient_id)))
    if not studies.exists():
        raise Http404("The institution has no study of this patient ID.")
    return studies


def _summaries(studies: QuerySet[Study]) -> QuerySet[Study]:
    """``studies`` with what a summary shows: the report's columns and signatures, without the
    assessment JSON."""
    return (
        studies.select_related("report")
        .defer("report__assessment")
        .prefetch_related("report__reviews")
    )


def study_fhir_context(
    *, study: Study, accession_number: str = "", patient_id: str = ""
) -> ReportContext:
    """What the FHIR report of a done study needs beside its assessment.

    The report names the study's own patient ID and accession number (given at upload or read
    from DICOM); identifiers a caller passes are checked against the study's keyed hashes and
    refused if they do not match (``InvalidStudyData``). ``ReportNotReady`` until the study has
    a report.
    """
    report = getattr(study, "report", None)
    if report is None:
        raise ReportNotReady(f"Study {study.pk} has no report yet (status: {study.status}).")
    for value, stored, words in (
        (accession_number, study.accession_number_hmac, "accession number"),
        (patient_id, study.patient_id_hmac, "patient ID"),
    ):
        if value and identifier_hmac(value) != stored:
            raise InvalidStudyData(f"The {words} does not match this study's.")
    review = getattr(report, "review", None)
    sign_off = (
        SignOff(
            reviewer=review.reviewer.get_username(),
            decision=review.decision
            + (f" the {review.get_accepted_method_display()}" if review.accepted_method else ""),
            bone_age_months=review.bone_age_months,
            signed_at=review.signed_at,
            reason=review.reason,
        )
        if review is not None
        else None
    )
    patient_id_system, accession_system = study.institution.identifier_systems()
    return ReportContext(
        report_id=f"boneage-study-{study.pk}",
        patient_id_system=patient_id_system,
        accession_system=accession_system,
        issued=review.signed_at if review is not None else report.created_at,
        exam_date=study.exam_date,
        received=study.created_at,
        accession_number=accession_number or study.accession_number or None,
        patient_id=patient_id or study.patient_id or None,
        sign_off=sign_off,
        tag_overrides=tuple(study.tag_overrides),
    )

"""Every read a user makes of the clinic's data, built on ``clinic.access`` (who may see what).

Views, the REST API and downloads go through these functions; a study of another institution is
simply not in the querysets they return, so asking for it is a 404, never a 403 that would confirm
that it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q, QuerySet
from django.http import Http404

from clinic import engine
from clinic.access import reports_visible_to, studies_visible_to
from clinic.identifiers import identifier_hmac
from clinic.models import Report, Review, Study

if TYPE_CHECKING:
    from boneage.report.visits import Visit

MAX_STUDY_NUMBER = 2**63 - 1
"""The largest study number the database's key column holds (a 64-bit ``BigAutoField``)."""


def study_number(text: str) -> int | None:
    """``text`` as a study number when it is one (ASCII digits, within the key column), else
    None: "²" or "٣" pass ``str.isdigit`` but are not numbers a user types for a study, and a
    number past the column makes the database refuse the query."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_STUDY_NUMBER else None


def study_list(
    *, user: AbstractBaseUser, search: str = "", status: str = "", ids: list[int] | None = None
) -> QuerySet[Study]:
    """The user's studies, newest first, optionally filtered.

    ``search`` matches a study number or a patient ID / accession number exactly (through their
    HMACs), or part of a patient name (case-insensitive); ``status`` is one of
    ``Study.Status``; ``ids`` keeps only those studies (the batch just uploaded).
    """
    studies = (
        studies_visible_to(user)
        .select_related("report", "uploaded_by")
        .prefetch_related("report__reviews")
    )
    if ids is not None:
        studies = studies.filter(pk__in=ids)
    if status:
        studies = studies.filter(status=status)
    search = search.strip()
    if "\x00" in search:  # no stored name or identifier holds a NUL (PostgreSQL refuses one)
        return studies.none()
    if search:
        hashed = identifier_hmac(search)
        match = (
            Q(patient_id_hmac=hashed)
            | Q(accession_number_hmac=hashed)
            | Q(patient_name__icontains=search)
        )
        if (number := study_number(search)) is not None:
            match |= Q(pk=number)
        studies = studies.filter(match)
    return studies


def study_get(*, user: AbstractBaseUser, study_id: int) -> Study:
    """One of the user's studies; ``Http404`` for a study that is not the user's to see."""
    study = (
        studies_visible_to(user)
        .select_related("report", "uploaded_by")
        .prefetch_related("report__reviews__reviewer")
        .filter(pk=study_id)
        .first()
    )
    if study is None:
        raise Http404("No such study")
    return study


def study_file(*, user: AbstractBaseUser, study_id: int, kind: str) -> Any:
    """The stored file ``kind`` of one of the user's studies: "original", or the report's
    "radiograph" (the film as a browser shows it), "overlay" or "chart".

    ``Http404`` when the study is not the user's or the file does not exist (yet).
    """
    study = study_get(user=user, study_id=study_id)
    if kind == "original":
        field = study.original
    elif kind in {"radiograph", "overlay", "chart"} and hasattr(study, "report"):
        field = getattr(study.report, kind)
    else:
        raise Http404("No such file")
    if not field:
        raise Http404("No such file")
    return field


def review_queue(*, user: AbstractBaseUser) -> QuerySet[Report]:
    """The user's unsigned reports, flagged ones first, then oldest first (a superuser's too:
    only their own institution's)."""
    reports = reports_visible_to(user).filter(reviews__isnull=True).select_related("study")
    return reports.order_by("-flag_for_review", "created_at", "pk")


def worklist_neighbours(*, user: AbstractBaseUser, report: Report) -> tuple[int | None, int | None]:
    """The study ids before and after ``report`` in the user's reading worklist
    (:func:`review_queue` order), whether or not ``report`` is still in it: once a report is
    signed it leaves the list, and "next" is the one that followed it."""
    queue = review_queue(user=user).exclude(pk=report.pk)
    flag, created = report.flag_for_review, report.created_at
    later = Q(flag_for_review=flag) & (
        Q(created_at__gt=created) | Q(created_at=created, pk__gt=report.pk)
    )
    earlier = Q(flag_for_review=flag) & (
        Q(created_at__lt=created) | Q(created_at=created, pk__lt=report.pk)
    )
    if flag:
        later |= Q(flag_for_review=False)
    else:
        earlier |= Q(flag_for_review=True)
    after = queue.filter(later).values_list("study_id", flat=True).first()
    before = queue.filter(earlier).reverse().values_list("study_id", flat=True).first()
    return before, after


def upload_tags(*, file: Any) -> dict[str, Any]:
    """What a dropped file says about the child, for the upload page to show for confirmation.

    Reads the file's header only (``boneage.io.read_file_header``, raising its ``InputError``s
    for a file of another type, damaged, or over the size limits): the pixels are decoded once,
    by the upload, never to fill a form.
    """
    header = engine.read_file_header(file.read())
    facts = header.facts
    if facts is None:
        return {"source_format": header.source_format}
    return {
        "source_format": header.source_format,
        "sex": facts.sex,
        "birth_date": facts.birth_date.isoformat() if facts.birth_date else None,
        "exam_date": facts.study_date.isoformat() if facts.study_date else None,
        "age_months": facts.age_months,
        "laterality": facts.laterality,
        "spacing_mm": list(facts.spacing_mm) if facts.spacing_mm else None,
    }


def signed_reading(report: Report | None) -> dict[str, Any] | None:
    """The reading of record: :func:`review_reading` of the report's latest signature, or None
    before sign-off."""
    review = getattr(report, "review", None) if report is not None else None
    return review_reading(review) if review is not None else None


def review_reading(review: Review) -> dict[str, Any] | None:
    """The bone age one signature signed, read against the chronological age (difference, SDS,
    category), or None without a chronological age: once signed, the clinician's value,
    accepted or corrected, is the one read."""
    study = review.report.study
    if study.chronological_age_months is None:
        return None
    reading = engine.compare_ages(review.bone_age_months, study.chronological_age_months, study.sex)
    return {**reading.to_dict(), "bone_age_months": review.bone_age_months}


def patient_studies(*, user: AbstractBaseUser, patient_id_hmac: str) -> QuerySet[Study]:
    """The user's studies of one patient (by the patient ID's keyed hash), in the order of the
    visits: by exam date, studies without one after the dated ones by upload time. None for an
    empty hash: studies without a patient ID are not one patient."""
    if not patient_id_hmac:
        return Study.objects.none()
    return (
        studies_visible_to(user)
        .filter(patient_id_hmac=patient_id_hmac)
        .order_by(F("exam_date").asc(nulls_last=True), "created_at", "pk")
    )


@dataclass(frozen=True)
class VisitRow:
    """One of a child's studies as the report's visits table shows it."""

    study: Study
    visit: Visit
    is_current: bool


def patient_visits(*, user: AbstractBaseUser, study: Study) -> list[VisitRow]:
    """Every study of ``study``'s patient in the user's institution, ``study`` included, as
    visits; empty when the study has no patient ID."""
    studies = patient_studies(user=user, patient_id_hmac=study.patient_id_hmac)
    rows = []
    for other in studies.select_related("report").prefetch_related("report__reviews"):
        report = getattr(other, "report", None)
        review = report.review if report is not None else None
        label = f"#{other.pk}, {other.exam_date or other.created_at.date()}"
        visit = engine.visit(
            label,
            other.chronological_age_months,
            report.assessment if report is not None else None,
            review.bone_age_months if review is not None else None,
        )
        rows.append(VisitRow(other, visit, other.pk == study.pk))
    return rows

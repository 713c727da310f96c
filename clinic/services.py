"""Everything that changes the clinic's data: create a study, assess it, sign its report.

Called by the web views, the REST API, the admin and the Celery task alike (STYLE.md, HackSoft
styleguide): keyword-only arguments, typed errors, one transaction per change.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from boneage.errors import BoneAgeError, MissingSex
from clinic import engine
from clinic.errors import (
    AlreadySigned,
    InvalidStudyData,
    ReviewChoiceRequired,
    ReviewReasonRequired,
    StorageUnavailable,
    UploadTooLarge,
)
from clinic.identifiers import identifier_hmac
from clinic.models import Report, Review, Study

if TYPE_CHECKING:
    from boneage.contract import AssessmentRecord
    from boneage.radiograph import PatientIdentity

logger = logging.getLogger(__name__)

_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "DICOM": "dcm"}
# Mean Gregorian month (365.25 / 12 days): the unit of every age in the engine's contract.
DAYS_PER_MONTH = 30.4375


AGE_TOLERANCE_MONTHS = 1.0
"""How far a given chronological age may lie from the age its dates give: rounding to whole
months, not a different child."""


def age_in_months(birth_date: date, exam_date: date) -> float:
    """Chronological age in months between two dates (mean Gregorian months)."""
    return (exam_date - birth_date).days / DAYS_PER_MONTH


def _institution_of(user: AbstractBaseUser) -> Any:
    membership = getattr(user, "membership", None)
    if membership is None:
        raise PermissionDenied("this user belongs to no institution")
    return membership.institution


def _settle_identity(from_file: PatientIdentity, **given: str) -> PatientIdentity:
    """The identifiers given, else the file's; a given patient ID, accession number or study UID
    that the file contradicts is refused (the film would be filed under another patient)."""
    settled = {}
    for field, value in given.items():
        tagged = getattr(from_file, field)
        if value and tagged and field != "patient_name" and value != tagged:
            words = field.replace("_", " ").replace("uid", "UID").replace("id", "ID")
            raise InvalidStudyData(
                f"The {words} given does not match the file's DICOM tag: check that this is "
                "the right patient's film."
            )
        settled[field] = (value or tagged)[: 128 if field == "patient_name" else 64]
    return replace(from_file, **settled)


def _check_given_dates(
    birth_date: date | None, exam_date: date | None, chronological_age_months: float | None
) -> None:
    """Refuse what the caller gave that cannot be true: a date in the future, or dates and an
    age that describe two different children."""
    today = timezone.localdate()
    if birth_date and birth_date > today:
        raise InvalidStudyData(f"The date of birth {birth_date} is in the future.")
    if exam_date and exam_date > today:
        raise InvalidStudyData(f"The exam date {exam_date} is in the future.")
    if birth_date and exam_date and chronological_age_months is not None:
        from_dates = age_in_months(birth_date, exam_date)
        if abs(from_dates - chronological_age_months) > AGE_TOLERANCE_MONTHS:
            raise InvalidStudyData(
                f"The dates give an age of {from_dates:.1f} months, but the chronological age "
                f"was given as {chronological_age_months:g} months: send one or the other, or "
                "correct them."
            )


def _resolve_age(
    *,
    birth_date: date | None,
    exam_date: date | None,
    chronological_age_months: float | None,
    age_from_file: float | None,
) -> float | None:
    if birth_date and exam_date and exam_date < birth_date:
        raise InvalidStudyData("The exam date is before the date of birth.")
    if chronological_age_months is not None:
        if chronological_age_months < 0:
            raise InvalidStudyData("The chronological age cannot be negative.")
        return float(chronological_age_months)
    if birth_date and exam_date:
        return age_in_months(birth_date, exam_date)
    return age_from_file


def _store_original(data: bytes, source_format: str) -> tuple[str, str]:
    """Save the bytes under their SHA-256 (once) and return (storage name, hex digest); raises
    ``StorageUnavailable`` when the storage refuses them."""
    digest = hashlib.sha256(data).hexdigest()
    name = f"originals/{digest[:2]}/{digest}.{_EXTENSIONS.get(source_format, 'bin')}"
    try:
        if not default_storage.exists(name):
            name = default_storage.save(name, ContentFile(data))
    except Exception as error:
        if (reason := _storage_refusal(error)) is None:
            raise
        logger.exception("an upload could not be stored")
        raise StorageUnavailable(
            f"The clinic's storage refused the file ({reason}): nothing was stored. Try again "
            "in a minute; the administrators were told."
        ) from error
    return name, digest


def _storage_refusal(error: Exception) -> str | None:
    """The reason in words when ``error`` is the media storage refusing (an ``OSError`` of the
    filesystem: full, read-only, gone; boto's error for an S3 bucket: unreachable, access
    denied), else None."""
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    from botocore.exceptions import BotoCoreError, ClientError

    return type(error).__name__ if isinstance(error, BotoCoreError | ClientError) else None


def study_create(
    *,
    user: AbstractBaseUser,
    file: File,
    sex: str | None = None,
    birth_date: date | None = None,
    exam_date: date | None = None,
    chronological_age_months: float | None = None,
    patient_id: str = "",
    accession_number: str = "",
    patient_name: str = "",
    study_instance_uid: str = "",
    idempotency_key: str = "",
) -> Study:
    """Validate an upload, store it and queue its assessment; return the (queued) study.

    Everything is checked before anything is stored: the size against
    ``BONEAGE_MAX_UPLOAD_BYTES`` (``UploadTooLarge``), the type sniffed from the bytes and the
    pixels decoded by ``boneage.io.read_radiograph`` (its ``InputError`` subclasses), sex given
    or in the DICOM tags (``MissingSex``), dates consistent (``InvalidStudyData``). Values not
    given are taken from the file's tags. The chronological age is the one given, else the one
    from the two dates, else the one from the tags, else unknown. With a non-empty
    ``idempotency_key`` an earlier study of this user with the same key is returned instead.
    The assessment is enqueued only once the transaction commits.
    """
    from clinic.tasks import assess_study

    institution = _institution_of(user)
    _check_given_dates(birth_date, exam_date, chronological_age_months)
    if idempotency_key:
        existing = Study.objects.filter(uploaded_by=user, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    size = file.size if file.size is not None else 0
    if size > settings.BONEAGE_MAX_UPLOAD_BYTES:
        limit_mib = settings.BONEAGE_MAX_UPLOAD_BYTES / 2**20
        raise UploadTooLarge(f"The file is larger than the {limit_mib:.0f} MiB limit.")
    file.seek(0)
    data = file.read()
    radiograph = engine.read_radiograph(data)
    sex = sex or radiograph.sex
    if sex not in {"F", "M"}:
        raise MissingSex("Sex is needed (both estimates are sex-specific) and the file has none.")
    birth_date = birth_date or radiograph.birth_date
    exam_date = exam_date or radiograph.study_date
    identity = _settle_identity(
        radiograph.identity,
        patient_id=patient_id.strip(),
        patient_name=patient_name.strip(),
        accession_number=accession_number.strip(),
        study_instance_uid=study_instance_uid.strip(),
    )
    age = _resolve_age(
        birth_date=birth_date,
        exam_date=exam_date,
        chronological_age_months=chronological_age_months,
        age_from_file=radiograph.age_months,
    )
    name, digest = _store_original(data, radiograph.source_format)
    with transaction.atomic():
        study = Study.objects.create(
            institution=institution,
            uploaded_by=user,
            original=name,
            original_sha256=digest,
            original_name=(getattr(file, "name", "") or "")[-255:],
            source_format=radiograph.source_format,
            sex=sex,
            birth_date=birth_date,
            exam_date=exam_date,
            chronological_age_months=age,
            patient_id=identity.patient_id,
            patient_name=identity.patient_name,
            accession_number=identity.accession_number,
            study_instance_uid=identity.study_instance_uid,
            sop_instance_uid=identity.sop_instance_uid,
            patient_id_hmac=identifier_hmac(identity.patient_id),
            accession_number_hmac=identifier_hmac(identity.accession_number),
            idempotency_key=idempotency_key,
        )
        assess_study.delay_on_commit(study.pk)
    return study


def _replace_file(name: str, data: bytes) -> str:
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(data))


def _report_fields(assessment: AssessmentRecord) -> dict[str, Any]:
    """The filterable columns of a report, copied from the assessment."""
    multistep, endtoend = assessment.multistep, assessment.endtoend
    rejected = multistep.rejected is not None or endtoend.rejected is not None
    chronological = assessment.chronological
    return {
        "schema_version": assessment.schema_version,
        "model_versions": {**multistep.model, **endtoend.model},
        "multistep_age_months": multistep.age_months,
        "endtoend_age_months": endtoend.age_months,
        "agree": assessment.agreement.agree,
        "flag_for_review": assessment.agreement.flag_for_review or rejected,
        "category": (chronological.category if chronological else None) or "",
    }


def _mark_failed(study: Study, reason: str) -> Study:
    """Fail the study with ``reason``, unless another run of it finished meanwhile: a done
    study keeps its report."""
    now = timezone.now()
    Study.objects.filter(pk=study.pk).exclude(status=Study.Status.DONE).update(
        status=Study.Status.FAILED, failure_reason=reason, finished_at=now, updated_at=now
    )
    study.refresh_from_db()
    log_state(study)
    return study


def _attempts_used(study: Study) -> str:
    return (
        f"The assessment was started {study.attempts} times and its worker stopped each time "
        "without finishing (killed for memory, or past the time limit). The film may be "
        "damaged or too large; it is not tried again."
    )


def run_assessment(*, study_id: int, get_models: Callable[[], Any] | None = None) -> Study:
    """Assess a study and save its report; a study already done is returned untouched.

    Every run ends the study done or failed with the reason in words, whatever goes wrong: an
    engine error (``BoneAgeError``), the soft time limit, or anything else (logged with its
    traceback, named to the clinician only by its kind). Idempotent, so that a task redelivered
    after its worker died (acks_late) simply runs again, but only ``BONEAGE_MAX_ATTEMPTS`` times:
    a film that kills its worker every time fails instead of coming back for ever. Two runs of
    one study write one report: the first to finish wins. ``get_models`` returns the engine's
    ``ModelBundle`` (the worker passes its once-per-process bundle; default
    ``engine.configured_models``); it is called only when there is work to do.
    """
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study_id)
        if study.status == Study.Status.DONE:
            return study
        if study.attempts >= settings.BONEAGE_MAX_ATTEMPTS:
            return _mark_failed(study, _attempts_used(study))
        study.attempts += 1
        study.status = Study.Status.RUNNING
        study.failure_reason = ""
        study.started_at = timezone.now()
        study.save(
            update_fields=["status", "failure_reason", "started_at", "attempts", "updated_at"]
        )
    log_state(study)
    try:
        with study.original.open("rb") as original:
            data = original.read()
        film = engine.assess_film(
            data,
            sex=study.sex,
            chronological_age_months=study.chronological_age_months,
            models=(get_models or engine.configured_models)(),
        )
    except BoneAgeError as error:
        return _mark_failed(study, str(error))
    except SoftTimeLimitExceeded:
        return _mark_failed(study, "The assessment took longer than the time limit.")
    except Exception as error:  # noqa: BLE001 - whatever happens, the study must not stay running
        logger.exception("study=%s assessment raised %s", study.pk, type(error).__name__)
        return _mark_failed(
            study,
            f"The assessment stopped on an internal error ({type(error).__name__}); it was "
            f"logged for the administrators. Quote study {study.pk} when reporting it.",
        )
    try:
        return _store_report(study, film)
    except Exception as error:
        if (reason := _storage_refusal(error)) is None:
            raise
        logger.exception("study=%s report could not be stored", study.pk)
        return _mark_failed(
            study,
            f"The report could not be stored ({reason}): the server's storage refused it. "
            "Nothing was kept; the administrators were told.",
        )


def _store_report(study: Study, film: engine.AssessedFilm) -> Study:
    """Write the report and its images and mark the study done, unless another run of the same
    study finished first (then its report stands and this one is dropped)."""
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.status == Study.Status.DONE:
            return locked
        fields = _report_fields(film.record)
        folder = f"reports/{study.pk}"
        fields["chart"] = _replace_file(f"{folder}/chart.png", film.chart_png)
        fields["radiograph"] = _replace_file(f"{folder}/radiograph.png", film.radiograph_png)
        fields["overlay"] = (
            _replace_file(f"{folder}/overlay.png", film.overlay_png) if film.overlay_png else ""
        )
        Report.objects.update_or_create(
            study=locked, defaults={"assessment": film.record.to_json(), **fields}
        )
        locked.status = Study.Status.DONE
        locked.finished_at = timezone.now()
        locked.save(update_fields=["status", "finished_at", "updated_at"])
    log_state(locked, seconds=film.seconds, models=fields["model_versions"])
    return locked


def studies_sweep() -> dict[str, list[int]]:
    """Find studies no worker will finish, and act: a study running past the hard time limit
    (its worker was killed) is queued again, or fails once it has used its attempts; a study
    queued for ``BONEAGE_QUEUED_STALE_S`` is queued again (its message was lost). Returns the
    study ids of each action. Run by Celery beat every five minutes, or ``manage.py
    sweep_studies``."""
    from clinic.tasks import assess_study

    now = timezone.now()
    running_limit = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT * 2)
    queued_limit = now - timedelta(seconds=settings.BONEAGE_QUEUED_STALE_S)
    actions: dict[str, list[int]] = {"requeued": [], "failed": []}
    stuck = Study.objects.filter(
        Q(status=Study.Status.RUNNING, started_at__lt=running_limit)
        | Q(status=Study.Status.QUEUED, updated_at__lt=queued_limit)
    )
    for study_id in stuck.values_list("pk", flat=True):
        with transaction.atomic():
            study = Study.objects.select_for_update().get(pk=study_id)
            if study.attempts >= settings.BONEAGE_MAX_ATTEMPTS:
                _mark_failed(study, _attempts_used(study))
                actions["failed"].append(study.pk)
                continue
            study.status = Study.Status.QUEUED
            study.save(update_fields=["status", "updated_at"])
            log_state(study, swept=True)
            assess_study.delay_on_commit(study.pk)
            actions["requeued"].append(study.pk)
    return actions


def log_state(study: Study, **facts: Any) -> None:
    """One structured line per state change: the study id, its status and attempt, and the
    figures given (stage seconds, model versions). No patient data: never the identifiers,
    names, dates or file names."""
    details = " ".join(
        f"{key}={_log_value(value)}" for key, value in facts.items() if value is not None
    )
    logger.info(
        "study=%s status=%s attempt=%s%s",
        study.pk,
        study.status,
        study.attempts,
        f" {details}" if details else "",
    )


def _log_value(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}:{_log_value(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def review_sign(
    *,
    report: Report,
    reviewer: AbstractBaseUser,
    accept: str | None = None,
    corrected_age_months: float | None = None,
    reason: str = "",
) -> Review:
    """Sign a report off: accept one of its estimates as shown (``accept``: "multistep" or
    "endtoend"), or correct the bone age giving the reason.

    Nothing is signed that the reviewer did not see: no mean of the two estimates, no estimate
    chosen for them. The reviewer must belong to the study's institution (superusers excepted).
    A signature is immutable: a signed report changes only by a new review that gives its reason
    (a correction, or the other estimate accepted), kept beside the earlier ones and becoming the
    reading of record; signing it again without a reason is ``AlreadySigned``, which is also what
    the second of two reviewers signing the same report at once gets.
    """
    if not reviewer.is_superuser and _institution_of(reviewer) != report.study.institution:
        raise PermissionDenied("the reviewer belongs to another institution")
    reason = reason.strip()
    method = ""
    if corrected_age_months is None:
        shown = [m for m in Review.Method.values if report.estimate_of(m) is not None]
        if not shown:
            raise ReviewReasonRequired(
                "There is no estimate to accept: give the bone age you read, with the reason."
            )
        if accept not in shown:
            raise ReviewChoiceRequired(
                "Choose which estimate to sign ("
                + " or ".join(Review.Method(m).label for m in shown)
                + "), or enter a corrected bone age with its reason."
            )
        decision, bone_age, method = Review.Decision.ACCEPTED, report.estimate_of(accept), accept
    else:
        if not reason:
            raise ReviewReasonRequired("A corrected bone age needs the reason for the correction.")
        if corrected_age_months < 0:
            raise InvalidStudyData("A bone age cannot be negative.")
        decision, bone_age = Review.Decision.CORRECTED, float(corrected_age_months)
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        earlier = Review.objects.filter(report=locked).select_related("reviewer").last()
        if earlier is not None and not reason:
            raise AlreadySigned(
                f"This report was already signed by {earlier.reviewer} on "
                f"{earlier.signed_at:%Y-%m-%d %H:%M}. To change it, sign a correction with its "
                "reason; the earlier signature is kept."
            )
        return Review.objects.create(
            report=locked,
            reviewer=reviewer,
            decision=decision,
            accepted_method=method,
            bone_age_months=bone_age,
            reason=reason,
            signed_at=timezone.now(),
        )

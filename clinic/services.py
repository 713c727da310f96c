"""Everything that changes a study: create it, assess it, sweep the stuck ones (signing its
report is :mod:`clinic.signing`).

Called by the web views, the REST API, the admin and the Celery task alike (docs/standards.md,
"Code layout"): keyword-only arguments, typed errors, one transaction per change.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from boneage.errors import BoneAgeError, MissingSex
from clinic import engine
from clinic.errors import (
    IdempotencyKeyReused,
    StorageUnavailable,
    SubmissionConflict,
    UploadTooLarge,
    error_code,
)
from clinic.identifiers import identifier_hmac
from clinic.intake import StudyFacts, check_given_dates, resolve_age, settle
from clinic.models import Report, Study
from clinic.pacs import triggers as pacs_triggers

if TYPE_CHECKING:
    from boneage.contract import AssessmentRecord
    from boneage.radiograph import PatientIdentity

logger = logging.getLogger(__name__)

_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "DICOM": "dcm"}


def _institution_of(user: AbstractBaseUser) -> Any:
    membership = getattr(user, "membership", None)
    if membership is None:
        raise PermissionDenied("this user belongs to no institution")
    return membership.institution


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


@dataclass(frozen=True)
class Submission:
    """What an upload became: a new study (``created``), or the earlier study it repeats."""

    study: Study
    created: bool


def study_create(*, user: AbstractBaseUser, file: File, **fields: Any) -> Study:
    """The study of an upload, new or repeated (:func:`study_submit`), for callers that need
    only the study (the demo data, the bench)."""
    return study_submit(user=user, file=file, **fields).study


def study_submit(
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
    override_tags: Collection[str] = (),
    idempotency_key: str = "",
) -> Submission:
    """Validate an upload, then file it as a new study queued for assessment, or find the
    earlier study it repeats: the one decision every upload (page or API) goes through.

    Everything is checked before anything is stored: the size against
    ``BONEAGE_MAX_UPLOAD_BYTES`` (``UploadTooLarge``), the type sniffed from the bytes and the
    pixels decoded by ``boneage.io.read_radiograph`` (its ``InputError`` subclasses), the values
    given against the file's tags (``TagContradiction`` unless named in ``override_tags``,
    :mod:`clinic.intake`), sex given or tagged (``MissingSex``), dates and age consistent and
    those of a child (``InvalidStudyData``).

    A repeat is an earlier study of this user with the same ``idempotency_key``, else one of the
    institution with the same accession number or SOP Instance UID (given or tagged: each names
    one examination or one image). It is returned, not created again, when it is the same image
    with the same sex; otherwise the repeat is ``SubmissionConflict``. Two uploads racing with
    one key make one study (the database's unique key decides). The assessment is enqueued only
    once the transaction commits.
    """
    from clinic.tasks import assess_study

    institution = _institution_of(user)
    check_given_dates(birth_date, exam_date, chronological_age_months)
    data = _upload_bytes(file)
    digest = hashlib.sha256(data).hexdigest()
    if idempotency_key:
        earlier = Study.objects.filter(uploaded_by=user, idempotency_key=idempotency_key).first()
        if earlier is not None:
            return _repeat(earlier, "Idempotency-Key", image_sha256=digest, sex=sex)
    radiograph = engine.read_radiograph(data)
    given = StudyFacts(
        sex=sex,
        birth_date=birth_date,
        exam_date=exam_date,
        patient_id=patient_id.strip(),
        patient_name=patient_name.strip(),
        accession_number=accession_number.strip(),
        study_instance_uid=study_instance_uid.strip(),
    )
    settled = settle(given, StudyFacts.of_file(radiograph), override_tags=override_tags)
    facts = settled.facts
    if facts.sex not in {"F", "M"}:
        raise MissingSex("Sex is needed (both estimates are sex-specific) and the file has none.")
    age = resolve_age(
        facts,
        chronological_age_months=chronological_age_months,
        age_from_file=radiograph.age_months,
    )
    identity = facts.identity(radiograph.identity.sop_instance_uid)
    found = next(_earlier_examinations(institution, identity), None)
    if found is not None:
        return _repeat(found[1], found[0], image_sha256=digest, sex=facts.sex)
    name, digest = _store_original(data, radiograph.source_format)
    try:
        with transaction.atomic():
            study = Study.objects.create(
                institution=institution,
                uploaded_by=user,
                original=name,
                original_sha256=digest,
                original_name=(getattr(file, "name", "") or "")[-255:],
                source_format=radiograph.source_format,
                sex=facts.sex,
                birth_date=facts.birth_date,
                exam_date=facts.exam_date,
                chronological_age_months=age,
                patient_id=identity.patient_id,
                patient_name=identity.patient_name,
                accession_number=identity.accession_number,
                study_instance_uid=identity.study_instance_uid,
                sop_instance_uid=identity.sop_instance_uid,
                patient_id_hmac=identifier_hmac(identity.patient_id),
                accession_number_hmac=identifier_hmac(identity.accession_number),
                tag_overrides=list(settled.overrides),
                idempotency_key=idempotency_key,
            )
            assess_study.delay_on_commit(study.pk)
    except IntegrityError:
        winner = Study.objects.filter(uploaded_by=user, idempotency_key=idempotency_key).first()
        if not idempotency_key or winner is None:
            raise
        return _repeat(winner, "Idempotency-Key", image_sha256=digest, sex=sex)
    return Submission(study=study, created=True)


def _upload_bytes(file: File) -> bytes:
    """The upload's bytes, refused from its size before they are read."""
    size = file.size if file.size is not None else 0
    if size > settings.BONEAGE_MAX_UPLOAD_BYTES:
        limit_mib = settings.BONEAGE_MAX_UPLOAD_BYTES / 2**20
        raise UploadTooLarge(f"The file is larger than the {limit_mib:.0f} MiB limit.")
    file.seek(0)
    return file.read()


def _earlier_examinations(
    institution: Any, identity: PatientIdentity
) -> Iterator[tuple[str, Study]]:
    """The institution's earlier study with this accession number, then the one with this SOP
    Instance UID, each with the identifier that found it."""
    studies = Study.objects.filter(institution=institution).order_by("created_at", "pk")
    hashed = identifier_hmac(identity.accession_number)
    if hashed and (study := studies.filter(accession_number_hmac=hashed).first()):
        yield "accession number", study
    if identity.sop_instance_uid and (
        study := studies.filter(sop_instance_uid=identity.sop_instance_uid).first()
    ):
        yield "SOP Instance UID", study


def _repeat(earlier: Study, by: str, *, image_sha256: str, sex: str | None) -> Submission:
    """The earlier study when this upload is a true retry of it (the same image, and no other
    sex); ``SubmissionConflict`` in words when it is not (``IdempotencyKeyReused`` when the key
    found it: the client reused a key, where a repeated accession number or SOP Instance UID is
    a conflict with what is stored)."""
    differences = []
    if earlier.original_sha256 != image_sha256:
        differences.append("a different image")
    if sex and earlier.sex and sex != earlier.sex:
        differences.append(f"sex {sex} where the study has {earlier.sex}")
    if differences:
        error = IdempotencyKeyReused if by == "Idempotency-Key" else SubmissionConflict
        raise error(
            f"This {by} already names study {earlier.pk}, sent with "
            f"{' and '.join(differences)}: a retry must repeat the same submission; a new "
            "examination needs its own key and accession number."
        )
    return Submission(study=earlier, created=False)


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
        "combined_age_months": assessment.combined.age_months if assessment.combined else None,
        "agree": assessment.agreement.agree,
        "flag_for_review": assessment.agreement.flag_for_review or rejected,
        "category": (chronological.category if chronological else None) or "",
    }


def _mark_failed(study: Study, reason: str, *, cause: str) -> Study:
    """Fail the study with ``reason``, unless another run of it finished meanwhile: a done
    study keeps its report. The log line says why: ``cause`` (a snake_case code) and the reason
    in words, which name the film's problem, never the patient."""
    now = timezone.now()
    Study.objects.filter(pk=study.pk).exclude(status=Study.Status.DONE).update(
        status=Study.Status.FAILED, failure_reason=reason, finished_at=now, updated_at=now
    )
    study.refresh_from_db()
    log_state(study, cause=cause, reason=reason if study.status == Study.Status.FAILED else None)
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
            return _mark_failed(study, _attempts_used(study), cause="attempts_used")
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
        return _mark_failed(study, str(error), cause=error_code(error))
    except SoftTimeLimitExceeded:
        return _mark_failed(
            study, "The assessment took longer than the time limit.", cause="time_limit"
        )
    except Exception as error:  # noqa: BLE001 - whatever happens, the study must not stay running
        logger.exception("study=%s assessment raised %s", study.pk, type(error).__name__)
        return _mark_failed(
            study,
            f"The assessment stopped on an internal error ({type(error).__name__}); it was "
            f"logged for the administrators. Quote study {study.pk} when reporting it.",
            cause=error_code(error),
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
            cause="storage_refused",
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
        pacs_triggers.study_done(locked)
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
                _mark_failed(study, _attempts_used(study), cause="attempts_used")
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
    if isinstance(value, str) and any(character.isspace() for character in value):
        return json.dumps(value)  # a sentence stays one value of the line
    if isinstance(value, dict):
        return ",".join(f"{k}:{_log_value(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)

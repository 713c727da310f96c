"""A FHIR R4 DiagnosticReport of one bone-age assessment, for hospital systems.

Most hospital FHIR servers speak R4; ``fhir.resources`` ships no plain R4 package but R4B, whose
DiagnosticReport and Observation are wire-compatible with R4 for every element used here, so the
resource is built and validated with :mod:`fhir.resources.R4B`.

Shape: one ``DiagnosticReport`` whose ``result`` points to ``contained`` Observations, one per
estimate (multi-step, end-to-end), each with its own contained ``Device`` naming the exact model
versions. Codes:

- LOINC 85151-9 "XR Bone age" on the report and on every estimate (the quantitative result; the
  code the SMART on FHIR growth-chart app asks for first), value in UCUM ``mo`` (months).
- The estimate's prediction interval is a ``component`` with a ``valueRange``: it is the
  uncertainty of this estimate, not a normal range, so it does not belong in ``referenceRange``.
- ``referenceRange`` holds what that element means: the normal band of bone age for this child,
  chronological age ± 2 SD of skeletal age (Greulich & Pyle 1959,
  :mod:`boneage.report.chronological`), present only when the chronological age is known, with the
  category as ``interpretation`` (v3 ObservationInterpretation L / N / H).
- A path that gave no estimate is an Observation with ``dataAbsentReason`` and the reason.

Everything here is a pure function of the assessment (the engine's typed record,
:mod:`boneage.contract`) and of a few study facts, so a stored report always renders the same.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.operationoutcome import OperationOutcome

from clinic import engine
from clinic.templatetags.clinic_format import METHOD_NAMES

if TYPE_CHECKING:
    from boneage.contract import AssessmentRecord

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
BONE_AGE_CODE = {
    "coding": [{"system": LOINC, "code": "85151-9", "display": "XR Bone age"}],
    "text": "Bone age",
}
BONE_AGE_METHOD_CODE = {
    "coding": [{"system": LOINC, "code": "85150-1", "display": "Bone age method"}],
    "text": "Bone age method",
}
"""The component that names the standard the bone age is equivalent to."""
_RADIOLOGY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v2-0074",
            "code": "RAD",
            "display": "Radiology",
        }
    ]
}
_IMAGING = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "imaging",
            "display": "Imaging",
        }
    ]
}
_ACCESSION = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
            "code": "ACSN",
            "display": "Accession ID",
        }
    ]
}
_INTERPRETATION = {
    "delayed": ("L", "Low"),
    "within normal": ("N", "Normal"),
    "advanced": ("H", "High"),
}
_PATHS = {
    "multistep": (
        "Multi-step bone age",
        "U-Net segmentation of the hand bones, per-bone measurements, sex-specific reference table",
    ),
    "endtoend": (
        "End-to-end bone age",
        "Convolutional network regression from the canonical hand crop and sex, calibrated "
        "interval",
    ),
}
_COMBINED = (
    "Combined bone age",
    "Both estimates pooled by their calibrated uncertainty when they agree, with its own "
    "split-conformal interval",
)
"""The combined estimate's Observation (present when the model folder has the rule)."""


@dataclass(frozen=True)
class SignOff:
    """A clinician's review: the bone age accepted as estimated, or corrected with a reason."""

    reviewer: str
    decision: str
    bone_age_months: float
    signed_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class ReportContext:
    """The study facts a DiagnosticReport needs beside the assessment.

    Until ``sign_off`` is given every status is "preliminary"; once signed the report is "final"
    and carries a third Observation, the reviewed bone age. ``issued`` must carry a time zone
    (FHIR ``instant``). Identifiers are given only by a caller who knows them: the clinic keeps
    them as keyed hashes and cannot read them back.
    """

    report_id: str
    issued: datetime
    exam_date: date | None = None
    patient_id_system: str = ""
    accession_system: str = ""
    received: datetime | None = None
    """When the film was uploaded: without an exam date, the film is known to have been taken no
    later than this."""
    accession_number: str | None = None
    patient_id: str | None = None
    sign_off: SignOff | None = None
    tag_overrides: tuple[str, ...] = ()
    """Each value given that was kept over the file's contradicting DICOM tag, in words."""
    presented_pdf: bytes | None = None
    """The signed report as a PDF (:mod:`clinic.pdf`), attached as ``presentedForm``."""


def diagnostic_report(assessment: AssessmentRecord, context: ReportContext) -> DiagnosticReport:
    """Build and validate the DiagnosticReport; ``.model_dump_json()`` gives the wire form."""
    status = "final" if context.sign_off else "preliminary"
    contained: list[dict[str, Any]] = []
    results: list[dict[str, str]] = []
    if context.sign_off:
        contained.append(_reviewed_observation(assessment, context, context.sign_off))
        results.append({"reference": "#reviewed", "display": "Reviewed bone age"})
    if assessment.combined is not None:
        contained.extend(_observation_and_device("combined", assessment, context, status))
        results.append({"reference": "#combined", "display": _COMBINED[0]})
    for path in _PATHS:
        contained.extend(_observation_and_device(path, assessment, context, status))
        results.append({"reference": f"#{path}", "display": _PATHS[path][0]})
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": context.report_id,
        "status": status,
        "category": [_RADIOLOGY],
        "code": BONE_AGE_CODE,
        "issued": context.issued.isoformat(),
        "contained": contained,
        "result": results,
        "conclusion": conclusion(assessment, context),
    }
    if context.accession_number:
        report["identifier"] = [
            {
                "type": _ACCESSION,
                **_system(context.accession_system),
                "value": context.accession_number,
            }
        ]
    if context.exam_date:
        report["effectiveDateTime"] = context.exam_date.isoformat()
    if context.patient_id:
        report["subject"] = _subject(context)
    if context.sign_off:
        report["resultsInterpreter"] = [{"display": context.sign_off.reviewer}]
    if context.presented_pdf is not None:
        report["presentedForm"] = [_pdf_attachment(context.presented_pdf, context)]
    return DiagnosticReport.model_validate(report)


def _pdf_attachment(pdf: bytes, context: ReportContext) -> dict[str, Any]:
    """The PDF as a FHIR Attachment: inline data (a receiving system files it as it is), with
    its size and SHA-1 hash as FHIR defines them."""
    return {
        "contentType": "application/pdf",
        "language": "en",
        "data": base64.b64encode(pdf).decode("ascii"),
        "size": len(pdf),
        "hash": base64.b64encode(hashlib.sha1(pdf).digest()).decode("ascii"),  # noqa: S324
        "title": "Bone age report (signed)",
        "creation": context.issued.isoformat(),
    }


def conclusion(assessment: AssessmentRecord, context: ReportContext) -> str:
    """The report's conclusion in words: the combined estimate first (when the model folder has
    its rule), both estimates, their agreement, the reviewer's comment."""
    sentences = list(context.tag_overrides)
    combined = assessment.combined
    if combined is not None and combined.answered:
        low, high = combined.interval_months
        sentences.append(
            f"Combined estimate: {combined.age_months:.1f} months (interval {low:.1f}–{high:.1f})."
        )
    elif combined is not None and combined.rejected:
        sentences.append(f"No combined estimate: {combined.rejected}")
    estimates = assessment.estimates()
    for path, (label, _method) in _PATHS.items():
        estimate = estimates[path]
        if estimate.answered:
            low, high = estimate.interval_months
            sentences.append(
                f"{label}: {estimate.age_months:.1f} months (interval {low:.1f}–{high:.1f})."
            )
        elif estimate.rejected is not None:
            sentences.append(f"{label}: no estimate ({estimate.rejected}).")
    agreement = assessment.agreement
    if agreement.reason:
        sentences.append(agreement.reason)
    if agreement.flag_for_review:
        sentences.append("Flagged for review.")
    chronological = assessment.chronological
    if chronological and chronological.category and not context.sign_off:
        based_on = f"the {METHOD_NAMES.get(chronological.based_on or '', 'automated')} estimate"
        why = f"; {chronological.category_reason}" if chronological.category_reason else ""
        sentences.append(
            f"Chronological age {chronological.age_months:.1f} months, read from {based_on}: "
            f"{chronological.category} (SDS {chronological.sds:+.2f}{why})."
        )
    if assessment.standard:
        sentences.append(f"Bone ages equivalent to {assessment.standard}.")
    sign_off = context.sign_off
    if sign_off:
        sentences.append(
            f"Reviewed by {sign_off.reviewer}: {sign_off.decision}, bone age "
            f"{sign_off.bone_age_months:.1f} months"
            + (f" ({sign_off.reason})." if sign_off.reason else ".")
        )
        category = signed_category(assessment, sign_off)
        if category and chronological:
            sentences.append(
                f"Chronological age {chronological.age_months:.1f} months: the signed bone "
                f"age reads {category}."
            )
    return " ".join(sentences)


def _reviewed_observation(
    assessment: AssessmentRecord, context: ReportContext, sign_off: SignOff
) -> dict[str, Any]:
    """The bone age the clinician signed: the result a receiving system should file."""
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "reviewed",
        "status": "final",
        "category": [_IMAGING],
        "code": BONE_AGE_CODE,
        "issued": sign_off.signed_at.isoformat(),
        "performer": [{"display": sign_off.reviewer}],
        "valueQuantity": _months(sign_off.bone_age_months),
        "method": {
            "text": _with_standard(
                f"Clinician review of the automated estimates: {sign_off.decision}", assessment
            )
        },
        "derivedFrom": [{"reference": f"#{path}"} for path in _PATHS],
        **_reference_range(assessment, signed_category(assessment, sign_off)),
    }
    if sign_off.reason:
        observation["note"] = [{"text": sign_off.reason}]
    _add_study_facts(observation, context)
    return observation


def _observation_and_device(
    path: str, assessment: AssessmentRecord, context: ReportContext, status: str
) -> list[dict[str, Any]]:
    """The Observation of one estimate and the Device that names its model versions."""
    label, method = _COMBINED if path == "combined" else _PATHS[path]
    estimate = assessment.estimate_of(path)
    assert estimate is not None, f"no {path} estimate to report"
    device_id = f"{path}-device"
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": path,
        "status": status,
        "category": [_IMAGING],
        "code": BONE_AGE_CODE,
        "issued": context.issued.isoformat(),
        "method": {"text": _with_standard(method, assessment)},
        "device": {"reference": f"#{device_id}", "display": label},
    }
    if path == "combined":
        observation["derivedFrom"] = [{"reference": f"#{other}"} for other in _PATHS]
    _add_study_facts(observation, context)
    if estimate.answered:
        low, high = estimate.interval_months
        observation["valueQuantity"] = _months(estimate.age_months)
        observation["component"] = [
            {
                "code": {"text": "Bone age prediction interval"},
                "valueRange": {"low": _months(low), "high": _months(high)},
            }
        ]
        if assessment.standard:
            observation["component"].append(
                {"code": BONE_AGE_METHOD_CODE, "valueString": assessment.standard}
            )
        reading = assessment.chronological.by_method.get(path) if assessment.chronological else None
        observation.update(_reference_range(assessment, reading.category if reading else None))
    else:
        observation["dataAbsentReason"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                    "code": "error",
                    "display": "Error",
                }
            ],
            "text": estimate.rejected or "no estimate",
        }
    if estimate.note:
        observation["note"] = [{"text": estimate.note}]
    models = estimate.model
    device = {
        "resourceType": "Device",
        "id": device_id,
        "deviceName": [{"name": f"boneage {label.lower()}", "type": "user-friendly-name"}],
        "type": {"text": "Bone age estimation software"},
        "version": [
            {"type": {"text": role}, "value": str(version)} for role, version in models.items()
        ],
    }
    return [observation, device]


def _add_study_facts(observation: dict[str, Any], context: ReportContext) -> None:
    """When and whose: the exam date (else a period ending at the upload, all that is known of
    when the film was taken) and the patient, where known."""
    if context.exam_date:
        observation["effectiveDateTime"] = context.exam_date.isoformat()
    elif context.received:
        observation["effectivePeriod"] = {"end": context.received.isoformat()}
    if context.patient_id:
        observation["subject"] = _subject(context)


def signed_category(assessment: AssessmentRecord, sign_off: SignOff) -> str | None:
    """The category of the signed bone age against the chronological age (None without one):
    once signed, the clinician's value, not the engine's estimate, is what is read."""
    chronological = assessment.chronological
    if not chronological:
        return None
    sex = assessment.input.sex
    return engine.compare_ages(sign_off.bone_age_months, chronological.age_months, sex).category


def _reference_range(assessment: AssessmentRecord, category: str | None = None) -> dict[str, Any]:
    """Normal band (chronological age ± 2 SD) and the category (``category``, else the
    engine's), when the age is known."""
    chronological = assessment.chronological
    if not chronological:
        return {}
    age = chronological.age_months
    low, high, sds_limit = engine.normal_band(age, assessment.input.sex)
    reference_range = {
        "referenceRange": [
            {
                "low": _months(low),
                "high": _months(high),
                "age": {"low": _months(age), "high": _months(age)},
                "text": (
                    f"Chronological age ± {sds_limit:g} SD of skeletal age "
                    "(Greulich & Pyle 1959 standard deviations)"
                ),
            }
        ]
    }
    category = category or chronological.category
    if category not in _INTERPRETATION:
        return reference_range  # "not determined": the interval allows no H, N or L flag
    code, display = _INTERPRETATION[category]
    return {
        **reference_range,
        "interpretation": [
            {
                "coding": [
                    {
                        "system": (
                            "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
                        ),
                        "code": code,
                        "display": display,
                    }
                ],
                "text": category,
            }
        ],
    }


def _with_standard(method: str, assessment: AssessmentRecord) -> str:
    """The method's words and the standard the bone age is equivalent to, when known."""
    if not assessment.standard:
        return method
    return f"{method}; bone age equivalent to {assessment.standard}"


def _months(value: float) -> dict[str, Any]:
    """A UCUM quantity in months, to 0.1 month."""
    return {"value": round(float(value), 1), "unit": "mo", "system": UCUM, "code": "mo"}


def _system(uri: str) -> dict[str, str]:
    return {"system": uri} if uri else {}


def _subject(context: ReportContext) -> dict[str, Any]:
    """A logical reference by the institution's patient identifier (no Patient resource here)."""
    identifier = {**_system(context.patient_id_system), "value": context.patient_id}
    return {"type": "Patient", "identifier": identifier}


_ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found"} | {
    409: "conflict",
    413: "too-costly",
    415: "not-supported",
    429: "throttled",
}
"""HTTP status → FHIR ``issue.code`` (http://hl7.org/fhir/issue-type)."""


def operation_outcome(status: int, body: Any) -> dict[str, Any]:
    """An API error body (``{detail, code}`` or ``{field: [messages]}``) as a FHIR
    OperationOutcome, validated."""
    if isinstance(body, Mapping) and "detail" in body:
        messages = [(str(body.get("code", "")), str(body["detail"]))]
    elif isinstance(body, Mapping):
        messages = [
            (str(field), "; ".join(map(str, errors if isinstance(errors, list) else [errors])))
            for field, errors in body.items()
        ]
    else:
        messages = [("", str(body))]
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": _ISSUE_CODES.get(status, "exception"),
                "diagnostics": text,
                **({"details": {"text": code}} if code else {}),
            }
            for code, text in messages
        ],
    }
    OperationOutcome.model_validate(outcome)
    return outcome

"""The one entry point: a radiograph in, both estimates with their evidence out.

The CLI (`boneage assess`), the Celery worker and the REST API all call :func:`assess` and store
or print :meth:`Assessment.to_dict`, the typed contract of :mod:`boneage.contract`, which this
module builds object by object.

Order of work: sex and chronological age are settled (an argument wins over a DICOM tag, and a
conflict is stated); the quality stage (:func:`boneage.quality.checks.check_quality`) checks and
corrects what it can, says so, or rejects, and frames the film once; both paths read that frame
in its acquired pose and give an estimate or a rejection in words; the two are compared, and
each gets its data-size confidence note from the model cards.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from boneage.contract import (
    SCHEMA_VERSION,
    AgreementRecord,
    AssessmentRecord,
    Check,
    ChronologicalRecord,
    CombinedEstimate,
    EndtoendEstimate,
    InputFacts,
    Method,
    ModelSummary,
    MultistepEstimate,
    QualityRecord,
    Reading,
    ReadingSource,
)
from boneage.endtoend.run import read_endtoend
from boneage.errors import MissingSex
from boneage.framing.canonical import CanonicalPose, canonical_crop, hand_pose, refine_pose
from boneage.framing.field import INPUT_SIZE
from boneage.modelcard import ModelCard, ModelKind
from boneage.multistep.framing import read_multistep
from boneage.multistep.landmarks import locate
from boneage.quality.checks import check_quality
from boneage.radiograph import Radiograph
from boneage.registry import ModelBundle
from boneage.report.bounds import within_trained_range
from boneage.report.chronological import compare
from boneage.report.notes import compare_estimates, endtoend_note, multistep_note, summary_note
from boneage.report.standard import standard_of
from boneage.stages import stage, timed_stages

logger = logging.getLogger(__name__)

EstimateT = TypeVar("EstimateT", MultistepEstimate, EndtoendEstimate)


@dataclass(frozen=True)
class Assessment:
    """Everything one assessment found: the typed contract (:mod:`boneage.contract`) and the
    overlay (RGB uint8, what the multi-step path found), which travels beside the JSON."""

    record: AssessmentRecord
    overlay: np.ndarray | None = field(default=None, repr=False)
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall seconds of each stage that ran (gate, preprocessing, segmentation, measurement,
    lookup, overlay, cnn): the worker logs them, ``bench/bench_service.py`` reports them."""

    def to_dict(self) -> dict[str, Any]:
        """The assessment contract as JSON (``boneage assess --json``)."""
        return self.record.to_json()


def assess(
    radiograph: Radiograph,
    *,
    models: ModelBundle,
    sex: str | None = None,
    chronological_age_months: float | None = None,
) -> Assessment:
    """Run both paths on one radiograph.

    ``sex`` ("F"/"M") overrides the file's tag; without either, :class:`MissingSex` is raised
    because both estimates are sex-specific. ``chronological_age_months`` overrides the age the
    file's tags give; with one (0, a newborn, included), each estimate is read against it
    (difference, SDS, category).
    """
    with timed_stages() as seconds:
        record, overlay = _assess(radiograph, models, sex, chronological_age_months)
    return Assessment(
        record=record,
        overlay=overlay,
        seconds={name: round(s, 4) for name, s in seconds.items()},
    )


def _assess(
    radiograph: Radiograph,
    models: ModelBundle,
    sex: str | None,
    chronological_age_months: float | None,
) -> tuple[AssessmentRecord, np.ndarray | None]:
    """:func:`assess`'s work, with its stages timed: the record, and the overlay."""
    sex, sex_source, sex_check = _settle_sex(sex, radiograph.sex)
    age = (
        chronological_age_months if chronological_age_months is not None else radiograph.age_months
    )
    with stage("gate"):
        quality = check_quality(
            radiograph.pixels, laterality=radiograph.laterality, gate=models.gate
        )
    checks = [*quality.checks, *([sex_check] if sex_check else [])]
    corrections = [*radiograph.handling, *quality.corrections]

    overlay, laterality = None, quality.laterality
    reference_role, endtoend_role = "reference", "regression"
    if quality.rejected is not None or quality.field is None:
        logger.info("film rejected before either path: %s", quality.rejected)
        multistep = MultistepEstimate(rejected=quality.rejected)
        endtoend = EndtoendEstimate(rejected=quality.rejected)
    else:
        corrections += quality.field.notes
        with stage("preprocessing"):
            framed = quality.field.at(INPUT_SIZE)
        with stage("segmentation"):
            hand = locate(models.landmarks, framed.image)
        pose = hand_pose(quality.field, hand.landmarks, INPUT_SIZE, radiograph.spacing_mm)
        if isinstance(pose, CanonicalPose):
            with stage("segmentation"):
                first_crop = canonical_crop(quality.field, pose, INPUT_SIZE)
                pose = refine_pose(pose, locate(models.landmarks, first_crop).landmarks, INPUT_SIZE)
        measured = read_multistep(
            quality.field,
            framed.image,
            hand,
            pose,
            spacing_mm=framed.spacing_mm(radiograph.spacing_mm),
            sex=sex,
            network=models.landmarks,
            reference=models.reference,
            canonical=models.canonical_reference,
            field_reference=models.field_reference,
        )
        overlay, multistep = measured.reading.overlay, measured.reading.estimate
        reference_role = measured.role
        if multistep.rejected is not None:
            logger.info("multi-step path rejected the film: %s", multistep.rejected)
        cnn = read_endtoend(
            quality.field,
            pose,
            field_image=framed.image,
            sex=sex,
            cnn=models.cnn,
            field_cnn=models.field_cnn,
        )
        endtoend, endtoend_role = cnn.estimate, cnn.role
        corrections += [note for note in (measured.framing_note, cnn.framing_note) if note]
        if laterality is None and cnn.pose is not None:
            laterality, checks = _palm_laterality(cnn.pose, checks)

    multistep, endtoend = within_trained_range(multistep), within_trained_range(endtoend)
    agreement = compare_estimates(multistep, endtoend)
    if multistep.landmark_warning:
        agreement = agreement.model_copy(
            update={
                "flag_for_review": True,
                "reason": f"{agreement.reason} Flagged: {multistep.landmark_warning}",
            }
        )
    cards = models.cards.by_kind()
    roles = models.cards.by_role()
    multistep = _with_notes(
        multistep,
        {"segmentation": models.cards.landmarks.ident, "reference": roles[reference_role].ident},
        "multistep",
        multistep_note(cards, agreement, multistep.age_months) if multistep.answered else None,
        cards,
    )
    endtoend = _with_notes(
        endtoend,
        {"regression": roles[endtoend_role].ident},
        "endtoend",
        endtoend_note(cards, agreement, endtoend.age_months) if endtoend.answered else None,
        cards,
    )
    record = AssessmentRecord(
        schema_version=SCHEMA_VERSION,
        input=InputFacts(
            sex=sex,
            sex_source=sex_source,
            source_format=radiograph.source_format,
            bit_depth=radiograph.bit_depth,
            spacing_mm=radiograph.spacing_mm,
            spacing_source=radiograph.spacing_source,
            laterality=laterality,
            chronological_age_months=age,
        ),
        multistep=multistep,
        endtoend=endtoend,
        agreement=agreement,
        quality=QualityRecord(checks=checks, corrections=corrections, rejected=quality.rejected),
        models={role: ModelSummary.model_validate(card.summary()) for role, card in roles.items()},
        standard=standard_of(
            card for role, card in roles.items() if role in (reference_role, endtoend_role)
        ),
    )
    if models.combination:
        record = record.model_copy(
            update={"combined": _combined(multistep, endtoend, agreement, models)}
        )
    if age is not None:
        record = record.model_copy(
            update={"chronological": _chronological(age, sex, record, models)}
        )
    return record, overlay


def _palm_laterality(pose: CanonicalPose, checks: list[Check]) -> tuple[str, list[Check]]:
    """The side the palm landmarks' pose gives (the film was not mirrored, since neither a tag
    nor the outline told the side), as the laterality check in place of "not determined"."""
    side = "R" if pose.mirrored else "L"
    detail = (
        "no tag, and the outline did not show the thumb's side; the palm landmarks place it: "
        f"{'right' if side == 'R' else 'left'} hand (posteroanterior view)"
    )
    if side == "R":
        detail += "; the end-to-end path read it mirrored, the multi-step path as acquired"
    check = Check(name="laterality", passed=True, detail=detail)
    return side, [c for c in checks if c.name != "laterality"] + [check]


def _combined(
    multistep: MultistepEstimate,
    endtoend: EndtoendEstimate,
    agreement: AgreementRecord,
    models: ModelBundle,
) -> CombinedEstimate:
    """The pooled estimate with its rule's ident and, when there is one, its one-line note."""
    assert models.combination is not None and models.cards.combination is not None
    combined = within_trained_range(models.combination.combine(multistep, endtoend, agreement))
    card = models.cards.combination
    update: dict[str, Any] = {"model": {"combination": card.ident}}
    if combined.answered and card.held_out.mae_months is not None:
        update["note_summary"] = (
            f"Both paths pooled: measured error {card.held_out.mae_months:.1f} months on "
            f"{card.held_out.size} held-out films, 90 % interval coverage "
            f"{card.held_out.coverage_90:.0%}."
            if card.held_out.coverage_90 is not None
            else f"Both paths pooled: measured error {card.held_out.mae_months:.1f} months."
        )
    return combined.model_copy(update=update)


def _with_notes(
    estimate: EstimateT,
    idents: dict[str, str],
    method: Method,
    note: str | None,
    cards: dict[ModelKind, ModelCard],
) -> EstimateT:
    """The estimate with the idents of its models and, when it answered, its notes."""
    update: dict[str, Any] = {"model": idents}
    if note is not None:
        update |= {"note": note, "note_summary": summary_note(method, cards)}
    return estimate.model_copy(update=update)


def _settle_sex(given: str | None, tagged: str | None) -> tuple[str, str, Check | None]:
    """The sex to use, where it came from, and a check when argument and tag disagree."""
    if given is None and tagged is None:
        raise MissingSex(
            "The child's sex is needed (F or M): both estimates are sex-specific, and the file "
            "does not say."
        )
    if given is None:
        return tagged, "dicom", None
    if given not in ("F", "M"):
        raise MissingSex(f"Sex must be F or M, not {given!r}.")
    if tagged is not None and tagged != given:
        return (
            given,
            "argument",
            Check(
                name="sex_matches_tags",
                passed=False,
                detail=f"sex given as {given} but the file's PatientSex is {tagged}; "
                f"{given} was used",
            ),
        )
    return given, "argument", None


def _chronological(
    age_months: float, sex: str, record: AssessmentRecord, models: ModelBundle
) -> ChronologicalRecord:
    """Each estimate against the chronological age; the top-level figures use the combined
    estimate when there is one (the report leads with it), else the path whose model measured
    the smaller held-out error, and say which."""
    by_method: dict[ReadingSource, Reading] = {
        source: Reading.model_validate(
            compare(estimate.age_months, age_months, sex, estimate.interval_months),
            from_attributes=True,
        )
        for source, estimate in record.reading_estimates().items()
        if estimate.answered
    }
    if not by_method:
        return ChronologicalRecord(age_months=age_months)
    errors = {
        "multistep": models.cards.reference.held_out.mae_months,
        "endtoend": models.cards.cnn.held_out.mae_months,
    }
    based_on: ReadingSource = (
        "combined"
        if "combined" in by_method
        else min(by_method, key=lambda source: errors.get(source) or math.inf)
    )
    return ChronologicalRecord(
        **by_method[based_on].model_dump(), based_on=based_on, by_method=by_method
    )

"""The one entry point: a radiograph in, both estimates with their evidence out.

The CLI (`boneage assess`), the Celery worker and the REST API all call :func:`assess` and store
or print :meth:`Assessment.to_dict`, the typed contract of :mod:`boneage.contract`.

Order of work: sex and chronological age are settled (an argument wins over a DICOM tag, and a
conflict is stated); quality checks correct what they can and say so, or reject; the shared
preprocessing feeds both paths; each path gives an estimate or a rejection in words; the two are
compared, and each gets its data-size confidence note from the model cards.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from boneage.chronological import compare
from boneage.contract import SCHEMA_VERSION, AssessmentRecord
from boneage.errors import InputError, MissingSex
from boneage.multistep import run_landmark_multistep, run_multistep
from boneage.notes import compare_estimates, endtoend_note, multistep_note, summary_note
from boneage.preprocess import field_square, preprocess
from boneage.quality import check_quality
from boneage.radiograph import Radiograph
from boneage.registry import ModelBundle
from boneage.stages import stage, timed_stages

logger = logging.getLogger(__name__)


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
    file's tags give; with one, each estimate is read against it (difference, SDS, category).
    """
    with timed_stages() as seconds:
        record, overlay = _assess(radiograph, models, sex, chronological_age_months)
    # Validated here, where it is made: a drifted field fails in the engine's own tests.
    return Assessment(
        record=AssessmentRecord.model_validate(record),
        overlay=overlay,
        seconds={name: round(s, 4) for name, s in seconds.items()},
    )


def _assess(
    radiograph: Radiograph,
    models: ModelBundle,
    sex: str | None,
    chronological_age_months: float | None,
) -> tuple[dict[str, Any], np.ndarray | None]:
    """:func:`assess`'s work, with its stages timed: the record as JSON, and the overlay."""
    sex, sex_source, sex_check = _settle_sex(sex, radiograph.sex)
    age = (
        chronological_age_months
        if chronological_age_months is not None
        else (radiograph.age_months)
    )
    with stage("gate"):
        quality = check_quality(
            radiograph.pixels, laterality=radiograph.laterality, gate=models.gate
        )
    checks = [_check(c.name, c.passed, c.detail) for c in quality.checks]
    if sex_check:
        checks.append(sex_check)
    corrections = [*radiograph.handling, *quality.corrections]

    overlay = None
    rejected = quality.rejected
    framings = {models.unet_framing, models.regressor.framing}
    if rejected is None and "hand" in framings:
        try:
            with stage("preprocessing"):
                prepared = preprocess(quality.pixels)
        except InputError as error:
            rejected = str(error)
    if rejected is not None:
        logger.info("film rejected before either path: %s", rejected)
        multistep: dict[str, Any] = {"rejected": rejected}
        endtoend: dict[str, Any] = {"rejected": rejected}
    else:
        if "hand" in framings:
            corrections += prepared.notes
        if "field" in framings:
            with stage("preprocessing"):
                field = field_square(quality.as_acquired)
            corrections += field.notes
        if models.unet_framing == "field":
            ms = run_landmark_multistep(
                field.image,
                spacing_mm=field.spacing_mm(radiograph.spacing_mm),
                sex=sex,
                network=models.unet,
                reference=models.reference,
            )
        else:
            ms = run_multistep(
                prepared.image,
                spacing_mm=prepared.spacing_mm(radiograph.spacing_mm),
                sex=sex,
                model=models.unet,
                reference=models.reference,
            )
        overlay = ms.overlay
        multistep = ms.to_dict()
        if "rejected" in multistep:
            logger.info("multi-step path rejected the film: %s", multistep["rejected"])
        turned = not np.array_equal(quality.pixels, quality.as_acquired)
        if turned and "hand" not in framings:
            corrections.append(
                "both estimates read the film in its acquired pose and side (their networks "
                "were trained on films in every pose); the turning and mirroring above were "
                "only used to check the hand's outline"
            )
        elif turned and models.regressor.framing == "field":
            corrections.append(
                "the end-to-end CNN reads the film in its acquired pose and side (it was "
                "trained on films in every pose); the turning and mirroring above are for "
                "the multi-step path"
            )
        framed = field if models.regressor.framing == "field" else prepared
        with stage("cnn"):
            ee = models.regressor.predict(framed, sex)
        endtoend = {
            "age_months": round(ee.age_months, 1),
            "interval_months": [round(v, 1) for v in ee.interval_months],
        }

    agreement = compare_estimates(multistep, endtoend)
    multistep["model"] = {
        "segmentation": models.cards["segmentation"].ident,
        "reference": models.cards["reference"].ident,
    }
    endtoend["model"] = {"regression": models.cards["regression"].ident}
    if "age_months" in multistep:
        multistep["note"] = multistep_note(models.cards, agreement, multistep["age_months"])
        multistep["note_summary"] = summary_note("multistep", models.cards)
    if "age_months" in endtoend:
        endtoend["note"] = endtoend_note(models.cards, agreement, endtoend["age_months"])
        endtoend["note_summary"] = summary_note("endtoend", models.cards)

    record = {
        "schema_version": SCHEMA_VERSION,
        "input": {
            "sex": sex,
            "sex_source": sex_source,
            "source_format": radiograph.source_format,
            "bit_depth": radiograph.bit_depth,
            "spacing_mm": list(radiograph.spacing_mm) if radiograph.spacing_mm else None,
            "spacing_source": radiograph.spacing_source,
            "laterality": quality.laterality,
            "chronological_age_months": age,
        },
        "multistep": multistep,
        "endtoend": endtoend,
        "agreement": agreement.to_dict(),
        "quality": {"checks": checks, "corrections": corrections, "rejected": quality.rejected},
        "models": {kind: card.summary() for kind, card in models.cards.items()},
    }
    if age:
        record["chronological"] = _chronological(age, sex, multistep, endtoend, models)
    return record, overlay


def _settle_sex(given: str | None, tagged: str | None) -> tuple[str, str, dict[str, Any] | None]:
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
            _check(
                "sex_matches_tags",
                False,
                f"sex given as {given} but the file's PatientSex is {tagged}; {given} was used",
            ),
        )
    return given, "argument", None


def _check(name: str, passed: bool, detail: str) -> dict[str, Any]:
    return {"name": name, "passed": passed, "detail": detail}


def _chronological(
    age_months: float,
    sex: str,
    multistep: dict[str, Any],
    endtoend: dict[str, Any],
    models: ModelBundle,
) -> dict[str, Any]:
    """Each estimate against the chronological age; the top-level figures use the estimate
    whose model measured the smaller held-out error, and say which."""
    by_method = {
        method: compare(
            estimate["age_months"], age_months, sex, tuple(estimate["interval_months"])
        ).to_dict()
        for method, estimate in (("multistep", multistep), ("endtoend", endtoend))
        if "age_months" in estimate
    }
    if not by_method:
        return {"age_months": age_months}
    errors = {
        "multistep": models.cards["reference"].held_out.mae_months,
        "endtoend": models.cards["regression"].held_out.mae_months,
    }
    based_on = min(by_method, key=lambda method: errors[method] or math.inf)
    return {**by_method[based_on], "based_on": based_on, "by_method": by_method}

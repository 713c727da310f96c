"""The multi-step estimate: find the bones → measure them → reference table → age ± interval.

Two U-Nets can find the bones, and the model card says which one a model folder holds
(:func:`boneage.registry.load_segmentation`):

- :func:`run_landmark_multistep` (the shipped path, trained on real films) takes the whole film
  as :func:`boneage.preprocess.field_square` frames it: joint centres and epiphysis regions
  (:mod:`boneage.landmarks`), measured by :mod:`boneage.hand_measure`;
- :func:`run_multistep` (the phantom-trained path) takes the hand crop of
  :func:`boneage.preprocess.preprocess`: per-bone masks measured by :mod:`boneage.measure`.

Either returns a :class:`MultistepResult` or, when what was found cannot support an estimate, a
:class:`MultistepRejection` with the reason in words: a study is rejected, never crashed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from boneage.errors import MissingSex
from boneage.hand_measure import BONES, HandMeasurements, measure_hand
from boneage.landmarks import locate
from boneage.measure import RATIO_BASE, Measurements, measure_bones
from boneage.notes import difference_limit
from boneage.overlay import render_hand_overlay, render_overlay
from boneage.reference import AgeEstimate, ReferenceTable, SpacingMode, estimate_age
from boneage.segment import segment
from boneage.stages import stage

MIN_LONG_BONES = 8
"""Fewer long bones than this (of 21) and the mask is not a hand we can measure: a partial image,
a foreign object, or a segmentation failure."""

MAX_FRAGMENTED_FRACTION = 0.2
"""Above this share of bone pixels lying outside the largest piece of their label
(:attr:`boneage.measure.Measurements.fragmented_fraction`) the segmentation has not recognised
the bones, and measuring it would turn noise into an age. Behind the demo U-Net: median 0.05 and
at most 0.19 on the 60 held-out phantoms of its card, one of 200 further phantoms above 0.2 (0.21,
an 11-month-old: the youngest hands, with the fewest and smallest bones, run highest); 0.24-0.44
on ten real infant radiographs (children of 0-3 years, unlike any training
phantom), whose overlays show labels spread across neighbouring rays and the wrist's soft tissue
labelled as carpals, and whose estimates were 2-17 years."""


@dataclass(frozen=True)
class MultistepRejection:
    """No multi-step estimate; ``reason`` says why, for the report."""

    reason: str
    overlay: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"rejected": self.reason}


@dataclass(frozen=True)
class MultistepResult:
    """The multi-step estimate with everything it rests on (the ``multistep`` JSON object)."""

    age_months: float
    interval_months: tuple[float, float]
    spacing_mode: SpacingMode
    measurements: Measurements | HandMeasurements
    estimate: AgeEstimate
    reference: str
    overlay: np.ndarray

    @property
    def outliers(self) -> tuple[str, ...]:
        return self.estimate.outliers

    def to_dict(self) -> dict[str, Any]:
        """The ``multistep`` object of the assessment contract (the caller adds ``note`` and the
        ``model`` idents). Lengths, widths and areas carry their unit in the key."""
        ages = {b.bone: b for b in self.estimate.bone_ages}
        bones = []
        for row in bone_rows(self.measurements):
            bone_age = ages.get(row["bone"])
            bones.append(
                row
                | {
                    "age_months": _round(bone_age.age_months if bone_age else None),
                    "outlier": bool(bone_age and bone_age.outlier),
                }
            )
        result = {
            "age_months": round(self.age_months, 1),
            "interval_months": [round(v, 1) for v in self.interval_months],
            "spacing_mode": self.spacing_mode,
            "reference": self.reference,
            "bones": bones,
            "outliers": list(self.outliers),
            **_evidence(self.measurements),
        }
        if self.estimate.parts:
            result["maturity"] = maturity_parts(self.estimate.parts)
        return result


def maturity_parts(parts: dict[str, tuple[float, float, float]]) -> dict[str, Any]:
    """Each part's age and interval, and, when carpal and tubular maturity differ by more than
    their combined uncertainty (:func:`boneage.notes.difference_limit`, the rule the two
    estimates' agreement uses), the asynchrony in words."""
    result: dict[str, Any] = {
        name: {"age_months": round(age, 1), "interval_months": [round(low, 1), round(high, 1)]}
        for name, (age, low, high) in parts.items()
    }
    result["asynchrony"] = None
    if "carpal" in parts and "tubular" in parts:
        carpal, tubular = parts["carpal"][0], parts["tubular"][0]
        difference = carpal - tubular
        limit = difference_limit(parts["carpal"], parts["tubular"])
        if abs(difference) > limit:
            ahead = "carpal bones" if difference > 0 else "tubular bones"
            result["asynchrony"] = (
                f"The carpal bones read {carpal:.0f} months and the tubular bones of the fingers "
                f"{tubular:.0f}: {abs(difference):.0f} months apart, more than their combined "
                f"uncertainty allows ({limit:.0f}); the {ahead} are ahead."
            )
    return result


def bone_rows(measurements: Measurements | HandMeasurements) -> list[dict[str, Any]]:
    """One row per measured bone or centre for the report's table."""
    if isinstance(measurements, HandMeasurements):
        scale = measurements.scale_px or float("nan")
        rows: list[dict[str, Any]] = [
            {
                "bone": bone,
                "kind": "long",
                "length_ratio": _round(length / scale, 3),
                "ratio_base": "radius to MCP 3",
                "length_px": _round(length),
            }
            for bone, length in measurements.lengths_px.items()
        ]
        rows += [
            {
                "bone": "carpus" if joint == "wrist" else f"{joint}_epiphysis",
                "kind": "carpal" if joint == "wrist" else "epiphysis",
                "relative_size": _round(m.share, 3),
                "area_px": m.epiphysis_px,
            }
            for joint, m in measurements.joints.items()
        ]
        return rows
    return [
        {
            "bone": name,
            "kind": m.kind,
            "length_mm": _round(m.length_mm),
            "length_ratio": _round(m.length_ratio, 3),
            "ratio_base": "metacarpal 3",
            "width_mm": _round(m.width_mm),
            "area_mm2": _round(m.area_mm2),
            "length_px": _round(m.length_px),
            "width_px": _round(m.width_px),
            "area_px": m.area_px,
            "relative_size": _round(m.relative_size, 3),
            "physis_fused": m.physis_fused,
        }
        for name, m in measurements.bones.items()
    ]


def _evidence(measurements: Measurements | HandMeasurements) -> dict[str, Any]:
    """What else the estimate rests on: ossification and fragmentation of a bone mask, or the
    joint regions and missing landmarks of a landmark map."""
    if isinstance(measurements, HandMeasurements):
        return {"landmarks": measurements.to_dict()}
    ossification = measurements.ossification
    return {
        "ossification": {
            "present": list(ossification.present),
            "absent": list(ossification.absent),
            "physes_fused": list(ossification.physes_fused),
            "physes_open": list(ossification.physes_open),
        },
        "fragmented_fraction": round(measurements.fragmented_fraction, 3),
    }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def rejection_reason(measurements: Measurements, mode: SpacingMode) -> str | None:
    """Why these measurements cannot be looked up in ``mode``, in words for the report, or None.

    ``boneage fit-reference`` on a folder skips the hands this rejects
    (:func:`boneage.training.reference_fit.measure_cases`): on real images, one failed segmentation
    must
    not teach the table that such hands exist. Phantom fits (the demo table, the learning curve)
    keep every training hand as its U-Net measured it."""
    if measurements.fragmented_fraction > MAX_FRAGMENTED_FRACTION:
        return (
            f"The bone segmentation is scattered: {measurements.fragmented_fraction:.0%} of the "
            f"bone pixels lie in pieces detached from their bone (above "
            f"{MAX_FRAGMENTED_FRACTION:.0%}), so the segmentation model did not recognise this "
            "hand's bones and its measurements cannot be trusted. See the overlay."
        )
    long_bones = measurements.long_bones()
    if len(long_bones) < MIN_LONG_BONES:
        return (
            f"Only {len(long_bones)} of 21 long bones were found in the segmentation "
            f"(at least {MIN_LONG_BONES} are needed): the image may not show a whole hand."
        )
    if mode == "ratios" and RATIO_BASE not in measurements.bones:
        return (
            "The third metacarpal was not found, and without a pixel spacing the bone lengths "
            "can only be compared to it."
        )
    return None


def run_multistep(
    image: np.ndarray,
    *,
    spacing_mm: float | None,
    sex: str | None,
    model: nn.Module,
    reference: ReferenceTable,
) -> MultistepResult | MultistepRejection:
    """Segment, measure and look up one preprocessed image.

    ``spacing_mm`` is the pixel spacing of the *preprocessed* image
    (:meth:`boneage.preprocess.Preprocessed.spacing_mm`), or None when the source had none; with
    it the estimate uses absolute lengths in mm, without it scale-free ratios. Raises
    :class:`MissingSex` when ``sex`` is None: the reference is sex-specific.
    """
    if sex is None:
        raise MissingSex("The multi-step estimate needs the child's sex (F or M).")
    with stage("segmentation"):
        labels = segment(model, image)
    with stage("measurement"):
        measurements = measure_bones(labels, spacing_mm)
    mode = _spacing_mode(spacing_mm, reference)
    return _look_up(
        measurements,
        rejection_reason(measurements, mode),
        lambda outliers: render_overlay(image, labels, measurements, outliers),
        sex=sex,
        mode=mode,
        reference=reference,
    )


def _spacing_mode(spacing_mm: float | None, reference: ReferenceTable) -> SpacingMode:
    """Millimetres when the film gives a spacing and the table has mm curves, else ratios."""
    if spacing_mm is not None and "absolute_mm" in reference.modes():
        return "absolute_mm"
    return "ratios"


def _look_up(
    measurements: Measurements | HandMeasurements,
    reason: str | None,
    draw: Callable[[tuple[str, ...]], np.ndarray],
    *,
    sex: str,
    mode: SpacingMode,
    reference: ReferenceTable,
) -> MultistepResult | MultistepRejection:
    """The rejection in words when ``reason`` says the measurements cannot be read, else the
    table's estimate; ``draw(outliers)`` renders the overlay either way."""
    if reason is not None:
        with stage("overlay"):
            return MultistepRejection(reason, draw(()))
    with stage("lookup"):
        estimate = estimate_age(reference, measurements, sex, mode)
    with stage("overlay"):
        overlay = draw(estimate.outliers)
    return MultistepResult(
        age_months=estimate.age_months,
        interval_months=estimate.interval_months,
        spacing_mode=mode,
        measurements=measurements,
        estimate=estimate,
        reference=reference.ident,
        overlay=overlay,
    )


MIN_MEASURED_BONES = 8
"""Fewer finger bones located than this (of the 15 of :data:`boneage.hand_measure.BONES`) and the
film does not show a hand the landmark U-Net can read."""


def hand_rejection_reason(measurements: HandMeasurements) -> str | None:
    """Why a landmark map cannot be looked up, in words for the report, or None."""
    if measurements.scale_px is None:
        return (
            "The distal radius or the third MCP joint was not located on the film, so the "
            "bones cannot be measured against the hand's own size. See the overlay."
        )
    if len(measurements.lengths_px) < MIN_MEASURED_BONES:
        return (
            f"Only {len(measurements.lengths_px)} of {len(BONES)} finger bones were located "
            f"(at least {MIN_MEASURED_BONES} are needed): fingers may be cut off, overlapping "
            "or out of the film. See the overlay."
        )
    if not measurements.joints:
        return "No joint region was found around the located joints, so no epiphysis could be read."
    return None


def run_landmark_multistep(
    image: np.ndarray,
    *,
    spacing_mm: float | None,
    sex: str | None,
    network: nn.Module,
    reference: ReferenceTable,
) -> MultistepResult | MultistepRejection:
    """Locate, measure and look up one whole film framed by
    :func:`boneage.preprocess.field_square` (the landmark U-Net's input); ``spacing_mm`` is that
    input's pixel spacing, or None. Raises :class:`MissingSex` when ``sex`` is None."""
    if sex is None:
        raise MissingSex("The multi-step estimate needs the child's sex (F or M).")
    with stage("segmentation"):
        hand = locate(network, image)
    with stage("measurement"):
        measurements = measure_hand(hand, spacing_mm)
    return _look_up(
        measurements,
        hand_rejection_reason(measurements),
        lambda outliers: render_hand_overlay(image, hand, measurements, outliers),
        sex=sex,
        mode=_spacing_mode(spacing_mm, reference),
        reference=reference,
    )

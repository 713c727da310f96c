"""The phantom era's multi-step estimate: segment the bones → measure them → table → age.

:func:`run_multistep` takes the hand crop of :func:`boneage.phantom.crop.preprocess`, segments it
with the phantom-trained bone U-Net (:mod:`boneage.phantom.segment`) and measures the per-bone
masks (:mod:`boneage.phantom.measure`). The phantom learning curve and the tests use it; the
shipped product runs :func:`boneage.multistep.run.run_landmark_multistep` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from boneage.errors import MissingSex
from boneage.multistep.estimator import AgeEstimate, estimate_age
from boneage.multistep.run import maturity_parts, spacing_mode
from boneage.multistep.table import ReferenceTable, SpacingMode
from boneage.phantom.measure import RATIO_BASE, Measurements, measure_bones
from boneage.phantom.overlay import render_overlay
from boneage.phantom.segment import segment
from boneage.stages import stage

MIN_LONG_BONES = 8
"""Fewer long bones than this (of 21) and the mask is not a hand we can measure: a partial image,
a foreign object, or a segmentation failure."""

MAX_FRAGMENTED_FRACTION = 0.2
"""Above this share of bone pixels lying outside the largest piece of their label
(:attr:`boneage.phantom.measure.Measurements.fragmented_fraction`) the segmentation has not
recognised the bones, and measuring it would turn noise into an age. Behind the demo U-Net: median
0.05 and at most 0.19 on the 60 held-out phantoms of its card, one of 200 further phantoms above
0.2 (0.21, an 11-month-old: the youngest hands, with the fewest and smallest bones, run highest);
0.24-0.44 on ten real infant radiographs (children of 0-3 years, unlike any training
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
    measurements: Measurements
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
            maturity = maturity_parts(self.estimate.parts)
            result["maturity"] = maturity.model_dump(mode="json", exclude_unset=True)
        return result


def bone_rows(measurements: Measurements) -> list[dict[str, Any]]:
    """One row per measured bone or centre for the report's table."""
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


def _evidence(measurements: Measurements) -> dict[str, Any]:
    """What else the estimate rests on: ossification and fragmentation of the bone mask."""
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
    (:func:`boneage.training.reference.fit.measure_cases`): on real images, one failed segmentation
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
    (:meth:`boneage.framing.field.Framed.spacing_mm`), or None when the source had none; with
    it the estimate uses absolute lengths in mm, without it scale-free ratios. Raises
    :class:`MissingSex` when ``sex`` is None: the reference is sex-specific.
    """
    if sex is None:
        raise MissingSex("The multi-step estimate needs the child's sex (F or M).")
    with stage("segmentation"):
        labels = segment(model, image)
    with stage("measurement"):
        measurements = measure_bones(labels, spacing_mm)
    mode = spacing_mode(spacing_mm, reference)
    return _look_up(
        measurements,
        rejection_reason(measurements, mode),
        lambda outliers: render_overlay(image, labels, measurements, outliers),
        sex=sex,
        mode=mode,
        reference=reference,
    )


def _look_up(
    measurements: Measurements,
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

"""The multi-step estimate of one film: locate → measure → reference table → age ± interval.

:func:`run_landmark_multistep` takes the whole film as :func:`boneage.framing.field.frame_field`
frames it; the landmark U-Net (:mod:`boneage.multistep.landmarks`) finds joint centres and
epiphysis regions, :mod:`boneage.multistep.measure` measures them, and the reference table reads
the measurements (:func:`boneage.multistep.estimator.estimate_age`). The result is the contract's
own :class:`~boneage.contract.MultistepEstimate` (an age with its interval and evidence, or the
rejection in words: a study is rejected, never crashed) with the overlay beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn

from boneage.contract import BoneRow, Maturity, MultistepEstimate, PartAge
from boneage.errors import MissingSex
from boneage.multistep.chains import crossing_bones, crossing_words
from boneage.multistep.estimator import AgeEstimate, Measured, estimate_age
from boneage.multistep.landmarks import HandMap, locate
from boneage.multistep.measure import BONES, HandMeasurements, MeanMeasurements, measure_hand
from boneage.multistep.overlay import render_hand_overlay
from boneage.multistep.table import ReferenceTable, SpacingMode
from boneage.report.notes import difference_limit
from boneage.stages import stage

MIN_MEASURED_BONES = 8
"""Fewer finger bones located than this (of the 15 of :data:`boneage.multistep.measure.BONES`)
and the film does not show a hand the landmark U-Net can read."""


@dataclass(frozen=True)
class MultistepReading:
    """What the multi-step path made of one film.

    ``estimate`` is the contract's object (the caller adds the model idents and the notes);
    ``lookup`` is the table's estimate behind it, None when the film was rejected; ``overlay``
    (RGB uint8) shows what the landmark U-Net found, for a rejection too.
    """

    estimate: MultistepEstimate
    measurements: HandMeasurements
    lookup: AgeEstimate | None
    overlay: np.ndarray


def spacing_mode(spacing_mm: float | None, reference: ReferenceTable) -> SpacingMode:
    """Millimetres when the film gives a spacing and the table has mm curves, else ratios."""
    if spacing_mm is not None and "absolute_mm" in reference.modes():
        return "absolute_mm"
    return "ratios"


def maturity_parts(parts: dict[str, tuple[float, float, float]]) -> Maturity:
    """Each part's age and interval, and, when carpal and tubular maturity differ by more than
    their combined uncertainty (:func:`boneage.report.notes.difference_limit`, the rule the two
    estimates' agreement uses), the asynchrony in words."""
    asynchrony = None
    if "carpal" in parts and "tubular" in parts:
        carpal, tubular = parts["carpal"][0], parts["tubular"][0]
        difference = carpal - tubular
        limit = difference_limit(parts["carpal"], parts["tubular"])
        if abs(difference) > limit:
            ahead = "carpal bones" if difference > 0 else "tubular bones"
            asynchrony = (
                f"The carpal bones read {carpal:.0f} months and the tubular bones of the fingers "
                f"{tubular:.0f}: {abs(difference):.0f} months apart, more than their combined "
                f"uncertainty allows ({limit:.0f}); the {ahead} are ahead."
            )
    ages = {
        name: PartAge(age_months=round(age, 1), interval_months=(round(low, 1), round(high, 1)))
        for name, (age, low, high) in parts.items()
    }
    return Maturity(**ages, asynchrony=asynchrony)


def bone_rows(measurements: HandMeasurements, lookup: AgeEstimate) -> list[BoneRow]:
    """One row per measured bone or centre for the report's table, with the age each bone
    alone reads and whether it was set aside as an outlier."""
    ages = {b.bone: b for b in lookup.bone_ages}

    def read(bone: str) -> dict[str, float | bool | None]:
        own = ages.get(bone)
        return {
            "age_months": _round(own.age_months if own else None),
            "outlier": bool(own and own.outlier),
        }

    scale = measurements.scale_px or float("nan")
    rows = [
        BoneRow(
            bone=bone,
            kind="long",
            length_ratio=_round(length / scale, 3),
            ratio_base="radius to MCP 3",
            length_px=_round(length),
            **read(bone),
        )
        for bone, length in measurements.lengths_px.items()
    ]
    for joint, m in measurements.joints.items():
        bone = "carpus" if joint == "wrist" else f"{joint}_epiphysis"
        rows.append(
            BoneRow(
                bone=bone,
                kind="carpal" if joint == "wrist" else "epiphysis",
                relative_size=_round(m.share, 3),
                area_px=m.epiphysis_px,
                **read(bone),
            )
        )
    return rows


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


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
    hand: HandMap | None = None,
    nudged_hands: Sequence[HandMap] = (),
) -> MultistepReading:
    """Locate, measure and look up one whole film framed by
    :func:`boneage.framing.field.frame_field` at the landmark U-Net's side; ``spacing_mm`` is
    that input's pixel spacing, or None. ``hand`` is the network's map of ``image`` when the
    caller has it already (the assessment locates once for both paths); ``nudged_hands`` its
    maps of the same hand in nudged crops, whose measurements the table reads averaged with
    ``hand``'s (:class:`~boneage.multistep.measure.MeanMeasurements`; the overlay and the bone
    table show ``hand``'s own). Raises
    :class:`MissingSex` when ``sex`` is None: the table is sex-specific."""
    if sex is None:
        raise MissingSex("The multi-step estimate needs the child's sex (F or M).")
    if hand is None:
        with stage("segmentation"):
            hand = locate(network, image)
    with stage("measurement"):
        measurements = measure_hand(hand, spacing_mm)
    warning = crossing_words(crossing_bones(hand.landmarks))
    reason = hand_rejection_reason(measurements)
    if reason is not None:
        with stage("overlay"):
            overlay = render_hand_overlay(image, hand, measurements)
        rejected = f"{reason} {warning}" if warning else reason
        return MultistepReading(MultistepEstimate(rejected=rejected), measurements, None, overlay)
    mode = spacing_mode(spacing_mm, reference)
    with stage("measurement"):
        nudged = [measure_hand(other, spacing_mm) for other in nudged_hands]
    with stage("lookup"):
        read: Measured = MeanMeasurements([measurements, *nudged]) if nudged else measurements
        lookup = estimate_age(reference, read, sex, mode)
    with stage("overlay"):
        overlay = render_hand_overlay(image, hand, measurements, lookup.outliers)
    estimate = MultistepEstimate(
        age_months=round(lookup.age_months, 1),
        interval_months=(round(lookup.interval_months[0], 1), round(lookup.interval_months[1], 1)),
        spacing_mode=mode,
        reference=reference.ident,
        bones=bone_rows(measurements, lookup),
        outliers=list(lookup.outliers),
        landmarks=measurements.readout(),
        landmark_warning=warning,
        edge=lookup.beyond_table,
        **({"maturity": maturity_parts(lookup.parts)} if lookup.parts else {}),
    )
    return MultistepReading(estimate, measurements, lookup, overlay)

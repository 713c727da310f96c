"""Where the multi-step path measures: in the canonical hand, or on the whole film.

On the whole film the landmark U-Net sees the hand as it was framed, and the measurements move
with the framing: on 80 `val` films, turning the film by 10-30° moved the multi-step estimate by
a median 5.5-15.7 months and mirroring it by 6.7. A reference table fitted on measurements made
in the canonical crop (:mod:`boneage.framing.canonical`; ``boneage fit-reference --framing
canonical``, its card's ``settings["framing"]``) is read on the same crop the end-to-end CNN
reads: the U-Net runs a second time, on the hand turned upright, mirrored to a left hand and
scaled to a fixed radius-to-third-MCP distance, sampled from the film at its own resolution. On
the same 3,000 `train` and 800 `val` films, that crop gave an MAE of 12.1 months against 12.96
on the whole film (0-2 years: 11.2 against 18.3).

In the crop, one reading still moves with the film's pixels (every region is a thresholded
map), so the U-Net reads the pose's crop and crops nudged by a few degrees and per cent
(:data:`~boneage.framing.canonical.NUDGES`) in one batch, and the table reads their features
averaged (:class:`~boneage.multistep.measure.MeanMeasurements`); the overlay and the bone table
show the pose's own crop. On 60 `val` films (``boneage evaluate --perturb --limit 60``),
averaging five crops halved the median change under a mirror (3.0 to 1.5 months; 90th
percentile 8.9 to 3.3), a gamma of 0.7 (3.5 to 2.0) and a turn of 10-30° (2.7-4.2 to 0.9-2.3);
three are shipped, for time.

A film whose palm gives no pose is measured on the whole film with the whole-film table when one
is installed (``reference-field``), and the report says so; otherwise the path says why it
gives no estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from boneage.contract import MultistepEstimate
from boneage.framing.canonical import NUDGES, CanonicalPose, PoseFailure, canonical_crop, nudged
from boneage.framing.field import FieldFrame
from boneage.multistep.landmarks import INPUT_SIDE, HandMap, locate_batch
from boneage.multistep.measure import measure_hand
from boneage.multistep.overlay import render_hand_overlay
from boneage.multistep.run import MultistepReading, run_landmark_multistep
from boneage.multistep.table import ReferenceTable
from boneage.stages import stage


@dataclass(frozen=True)
class FramedReading:
    """The multi-step reading, the role of the table that read it (``"reference"``, or
    ``"reference_field"`` for the whole-film fallback) and where it measured, in words for the
    report's corrections (empty for a whole-film table, which measures where it always did)."""

    reading: MultistepReading
    role: str
    framing_note: str


def read_multistep(
    field: FieldFrame,
    field_image: np.ndarray,
    field_hand: HandMap,
    pose: CanonicalPose | PoseFailure,
    *,
    spacing_mm: float | None,
    sex: str | None,
    network: nn.Module,
    reference: ReferenceTable,
    canonical: bool,
    field_reference: ReferenceTable | None,
) -> FramedReading:
    """Measure where the table was fitted: ``canonical`` says ``reference`` was fitted in the
    canonical crop. ``field_image`` is the whole film at the U-Net's side, ``field_hand`` the
    U-Net's map of it and ``spacing_mm`` its pixel spacing (the canonical crop is read in
    ratios only). Raises :class:`~boneage.errors.MissingSex` as
    :func:`~boneage.multistep.run.run_landmark_multistep` does."""

    def on_the_film(table: ReferenceTable) -> MultistepReading:
        return run_landmark_multistep(
            field_image,
            spacing_mm=spacing_mm,
            sex=sex,
            network=network,
            reference=table,
            hand=field_hand,
        )

    if not canonical:
        return FramedReading(on_the_film(reference), "reference", "")
    if isinstance(pose, CanonicalPose):
        with stage("preprocessing"):
            crops = np.stack([canonical_crop(field, nudged(pose, *n), INPUT_SIDE) for n in NUDGES])
        with stage("segmentation"):
            hand, *others = locate_batch(network, crops)
        reading = run_landmark_multistep(
            crops[0],
            spacing_mm=None,
            sex=sex,
            network=network,
            reference=reference,
            hand=hand,
            nudged_hands=others,
        )
        note = "multi-step: measured in the same canonical hand crop as the end-to-end estimate"
        return FramedReading(reading, "reference", note)
    if field_reference is None:
        rejected = (
            f"Multi-step: {pose.reason}, and no whole-film reference table is installed to read it."
        )
        measurements = measure_hand(field_hand, spacing_mm)
        overlay = render_hand_overlay(field_image, field_hand, measurements)
        estimate = MultistepEstimate(rejected=rejected)
        return FramedReading(
            MultistepReading(estimate, measurements, None, overlay), "reference", ""
        )
    note = (
        f"multi-step: {pose.reason}; measured on the whole film instead, with the whole-film "
        "reference table, whose answers move more with the framing"
    )
    return FramedReading(on_the_film(field_reference), "reference_field", note)

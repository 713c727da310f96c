"""The end-to-end estimate of one film: the canonical hand crop when the palm is found, the
whole film when it is not, and which of the two in words.

The canonical CNN reads the hand in one pose, side and scale (:mod:`boneage.framing.canonical`),
so its answer does not move with the framing. The pose comes from the landmark U-Net's palm
landmarks on the whole film, the same map the multi-step path measures. When they do not place
the hand (fewer than four palm points found, or points that do not form a hand, as on many
infants' films), the estimate falls back to the whole-film CNN the project shipped before, and
the report says so; without that fallback model the path gives no estimate, in words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from boneage.contract import EndtoendEstimate
from boneage.endtoend.cnn import AgeEstimate, Regressor
from boneage.framing.canonical import (
    CanonicalPose,
    pose_from_landmarks,
    sample_crops,
)
from boneage.framing.field import FieldFrame
from boneage.multistep.landmarks import HandMap
from boneage.stages import stage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EndtoendReading:
    """The estimate (its notes and idents still to add), the role of the model that made it
    (``"regression"``, or ``"regression_field"`` for the whole-film fallback) and what the
    framing did, in words for the report's corrections."""

    estimate: EndtoendEstimate
    role: str
    framing_note: str
    pose: CanonicalPose | None = None
    """The hand's canonical pose, when the palm landmarks gave one."""


def _pixel_aspect(spacing_mm: tuple[float, float] | None) -> float:
    """A pixel's width over its height from the (row, column) spacing; 1 when unknown."""
    if spacing_mm is None or min(spacing_mm) <= 0:
        return 1.0
    return float(spacing_mm[1] / spacing_mm[0])


def canonical_crop(field: FieldFrame, pose: CanonicalPose, side: int) -> np.ndarray:
    """The canonical crop (side × side, 0..1) of the framed film under ``pose``."""
    square = torch.from_numpy(np.ascontiguousarray(field.square))[None, None]
    matrix = torch.from_numpy(pose.matrix)[None]
    return sample_crops(square, matrix, side)[0, 0].numpy()


def _estimate(prediction: AgeEstimate) -> EndtoendEstimate:
    """The contract's estimate of one CNN reading, rounded as the report shows it."""
    return EndtoendEstimate(
        age_months=round(prediction.age_months, 1),
        interval_months=(
            round(prediction.interval_months[0], 1),
            round(prediction.interval_months[1], 1),
        ),
    )


def read_endtoend(
    field: FieldFrame,
    hand: HandMap,
    *,
    landmark_side: int,
    field_image: np.ndarray,
    sex: str,
    spacing_mm: tuple[float, float] | None,
    cnn: Regressor,
    field_cnn: Regressor | None,
) -> EndtoendReading:
    """The end-to-end estimate of a framed film. ``hand`` is the landmark U-Net's map of the
    film at ``landmark_side`` pixels; ``field_image`` the whole film as the field CNN reads it.
    A whole-film ``cnn`` (a model directory of before the canonical crop) reads every film."""
    if cnn.framing == "field":
        with stage("cnn"):
            prediction = cnn.predict(field_image, sex)
        return EndtoendReading(_estimate(prediction), "regression", "")
    pose = pose_from_landmarks(
        hand.landmarks,
        field.square.shape[0] / landmark_side,
        pixel_aspect=_pixel_aspect(spacing_mm),
    )
    if isinstance(pose, CanonicalPose):
        with stage("cnn"):
            crop = canonical_crop(field, pose, cnn.network.config.input_side)
            prediction = cnn.predict(crop, sex)
        estimate = _estimate(prediction).model_copy(update={"framing": "canonical"})
        return EndtoendReading(estimate, "regression", f"end-to-end: {pose.describe()}", pose)
    logger.info("no canonical pose: %s", pose.reason)
    if field_cnn is None:
        rejected = f"End-to-end: {pose.reason}, and no whole-film model is installed to read it."
        return EndtoendReading(EndtoendEstimate(rejected=rejected), "regression", "")
    with stage("cnn"):
        prediction = field_cnn.predict(field_image, sex)
    estimate = _estimate(prediction).model_copy(update={"framing": "field"})
    note = (
        f"end-to-end: {pose.reason}; the estimate read the whole film instead, with the "
        "whole-film CNN, whose answers move more with the framing"
    )
    return EndtoendReading(estimate, "regression_field", note)

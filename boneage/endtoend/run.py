"""The end-to-end estimate of one film: the canonical hand crop when the palm is found, the
whole film when it is not, and which of the two in words.

The canonical CNN reads the hand in one pose, side and scale (:mod:`boneage.framing.canonical`),
so its answer does not move with the framing. The pose comes from the landmark U-Net's palm
landmarks on the whole film (:func:`~boneage.framing.canonical.hand_pose`, found once per film
and refined on its first crop, :func:`~boneage.framing.canonical.refine_pose`; a canonical
reference table measures in the same crop). When they do not place
the hand (fewer than four palm points found, or points that do not form a hand, as on many
infants' films), the estimate falls back to the whole-film CNN the project shipped before, and
the report says so; without that fallback model the path gives no estimate, in words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from boneage.contract import EndtoendEstimate
from boneage.endtoend.cnn import AgeEstimate, Regressor
from boneage.framing.canonical import CanonicalPose, PoseFailure, canonical_crop
from boneage.framing.field import FieldFrame
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
    pose: CanonicalPose | PoseFailure,
    *,
    field_image: np.ndarray,
    sex: str,
    cnn: Regressor,
    field_cnn: Regressor | None,
) -> EndtoendReading:
    """The end-to-end estimate of a framed film. ``pose`` is the film's canonical pose
    (:func:`~boneage.framing.canonical.hand_pose`) or why there is none; ``field_image`` the
    whole film as the field CNN reads it. A whole-film ``cnn`` (a model directory of before the
    canonical crop) reads every film."""
    if cnn.framing == "field":
        with stage("cnn"):
            prediction = cnn.predict(field_image, sex)
        return EndtoendReading(_estimate(prediction), "regression", "")
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

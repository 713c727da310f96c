"""Reading a hand's measurements against the reference table: an age in months with an interval.

With a maturity score (:class:`~boneage.multistep.table.MaturityScore`, the shipped table), the
score of the hand's measurements is read against the table's age curve of that score. Without
one, lookup is a likelihood over the age grid from every feature measured, with a flat prior;
the estimate is the posterior median and the interval its central
:data:`~boneage.multistep.table.COVERAGE` range. The features are not independent in a real
child (an advanced child is advanced in every centre), so the log-likelihood is divided by the
table's ``temperature``. Bone lengths of one hand are not independent either (a tall child has
long bones throughout), so the length features share a common size factor: their z-scores are
jointly normal with correlation ``shared_fraction`` (closed form below). Either way the interval
is then widened by the table's split-conformal multiplier for the spacing mode
(``interval_scales``), calibrated on measurements made the way inference makes them.

Every bone with a continuous feature also gets its own age (the maximum of its own likelihood,
i.e. the inverse of its mean curve); a bone whose measurement lies too many of its own SDs from
what the consensus of those ages predicts (:data:`OUTLIER_Z`) is an outlier, excluded from the
combined estimate and listed — never silently averaged in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from boneage.multistep.table import (
    COVERAGE,
    Beyond,
    Curve,
    ReferenceTable,
    SexReference,
    SpacingMode,
)

MISREAD_PROBABILITY = 0.03
"""Chance that segmentation misreads a centre's presence or a physis' fusion; keeps one misread
binary feature from ruling an age out completely."""
OUTLIER_Z = 4.0
"""A bone is an outlier when its measurement lies more than this many of its own SDs from what its
curve expects at the consensus age (the median of the per-bone ages), beyond the offset that all
bones share (the median of those deviations: a large or advanced hand moves every bone alike).
Judging each bone against its own scatter, not its age against the others' ages, keeps small bones
with flat curves, whose per-bone ages scatter widely, from being flagged while they agree: on 40
held-out phantoms with true masks and a table refitted on 240, 0.15 bones per hand were flagged,
against 1.3 when a bone's age more than max(24 months, 3.5 robust SDs) from the others' median
was the rule. Behind the demo U-Net, where flags mark segmentation errors, 1.05 per hand."""
INFORMATIVE_RANGE_SDS = 3.0
"""A continuous feature gives a per-bone age only when its mean curve moves by at least this many
SDs over the age grid; flatter ones (most ratios) still add to the likelihood. With 1 SD, fitted
ratio curves gave per-bone ages so scattered that 1-4 agreeing bones per hand were flagged."""


class Measured(Protocol):
    """What a table reads: the measurements of one hand (the landmark U-Net's
    :class:`boneage.multistep.measure.HandMeasurements`; the phantom era's bone-mask measurements
    follow the same protocol)."""

    @property
    def spacing_mm(self) -> object | None: ...

    def features(self, mode: SpacingMode) -> tuple[dict[str, float], dict[str, bool]]:
        """The (continuous, binary) features keyed as in the table."""
        ...


def features(measurements: Measured, mode: SpacingMode) -> tuple[dict[str, float], dict[str, bool]]:
    """The (continuous, binary) features of one hand, keyed as in the table."""
    return measurements.features(mode)


@dataclass(frozen=True)
class BoneAge:
    """The age one bone's own continuous feature points to, and whether it was set aside."""

    bone: str
    feature: str
    age_months: float
    outlier: bool


@dataclass(frozen=True)
class AgeEstimate:
    """The combined estimate (posterior median, months) with its :data:`COVERAGE` interval."""

    age_months: float
    interval_months: tuple[float, float]
    spacing_mode: SpacingMode
    bone_ages: tuple[BoneAge, ...]
    outliers: tuple[str, ...]
    features_used: int
    parts: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    """Per :data:`MATURITY_PARTS`, the age and interval its own score reads (score tables)."""
    beyond_table: str | None = None
    """In words, when the hand's score lies past the scores the table resolves: the age is held
    at the table's youngest (oldest) and the interval reaches to birth (19 years)."""


def _shared_log_likelihood(
    values: dict[str, float], curves: dict[str, Curve], shared: float
) -> np.ndarray:
    """Joint log-likelihood (age grid) of length features whose log-scale z-scores have
    correlation ``shared``: with Σ = (1-ρ)I + ρJ, z'Σ⁻¹z = (Σz² − ρ(Σz)²/(1−ρ+nρ)) / (1−ρ).

    Log scale (z = log(x/mean) / (sd/mean)) because length SDs grow with the mean: on the linear
    scale the Jacobian −Σ log sd(age) of n bones whose curves share one shape favours young ages
    by n log-units of SD while the shared size factor carries one bone's worth of information."""
    z = np.array(
        [np.log(values[k] / curves[k].mean) * curves[k].mean / curves[k].sd for k in values]
    )
    log_cv = sum(np.log(curves[k].sd / curves[k].mean) for k in values)
    n = len(values)
    quadratic = np.sum(z**2, axis=0) - shared * np.sum(z, axis=0) ** 2 / (1 - shared + n * shared)
    return -0.5 * quadratic / (1 - shared) - log_cv


def _flag_outliers(
    values: dict[str, float],
    curves: dict[str, Curve],
    bone_feature: dict[str, str],
    bone_age: dict[str, float],
    ages: np.ndarray,
) -> set[str]:
    """The bones whose feature deviates from the consensus (see :data:`OUTLIER_Z`)."""
    if len(bone_age) < 3:
        return set()
    at = int(np.argmin(np.abs(ages - float(np.median(list(bone_age.values()))))))
    z = {
        bone: (values[key] - curves[key].mean[at]) / curves[key].sd[at]
        for bone, key in bone_feature.items()
    }
    offset = float(np.median(list(z.values())))
    return {bone for bone, deviation in z.items() if abs(deviation - offset) > OUTLIER_Z}


def _posterior_summary(ages: np.ndarray, log_likelihood: np.ndarray) -> tuple[float, float, float]:
    """(median, low, high) of the posterior (flat prior over the grid)."""
    weights = np.exp(log_likelihood - log_likelihood.max())
    cumulative = np.cumsum(weights) / weights.sum()
    tail = (1 - COVERAGE) / 2
    low, median, high = np.interp([tail, 0.5, 1 - tail], cumulative, ages)
    return float(median), float(low), float(high)


def _independent_log_likelihood(
    table: ReferenceTable,
    reference: SexReference,
    continuous: dict[str, float],
    binary: dict[str, bool],
) -> np.ndarray:
    """Every feature's likelihood multiplied in, lengths with their shared size factor."""
    log_likelihood = np.zeros_like(table.ages_months)
    for quantity in ("length_mm", "length_ratio"):
        group = {k: v for k, v in continuous.items() if k.startswith(f"{quantity}:")}
        if group:
            curves = {k: reference.continuous[k] for k in group}
            shared = table.shared_fraction.get(quantity, 0.0)
            log_likelihood += _shared_log_likelihood(group, curves, shared)
    for key, value in continuous.items():
        if key.startswith("relative_size:"):
            log_likelihood += reference.continuous[key].log_likelihood(value)
    for key, observed in binary.items():
        p = MISREAD_PROBABILITY + (1 - 2 * MISREAD_PROBABILITY) * reference.binary[key]
        log_likelihood += np.log(p if observed else 1 - p)
    return log_likelihood


def score_inputs(
    reference: SexReference,
    continuous: dict[str, float],
    binary: dict[str, bool],
    consensus_months: float,
    ages: np.ndarray,
) -> dict[str, float]:
    """The maturity score's inputs for one hand: what was measured (presence as 0 or 1), and
    for a feature not measured or set aside as an outlier, what its curve expects at the
    ``consensus_months`` of the other bones: a missing bone neither raises nor lowers the
    score."""
    assert reference.score is not None
    at = int(np.argmin(np.abs(ages - consensus_months)))
    inputs: dict[str, float] = {}
    for key in reference.score.keys:
        if key in continuous:
            inputs[key] = continuous[key]
        elif key in binary:
            inputs[key] = float(binary[key])
        elif key in reference.continuous:
            inputs[key] = float(reference.continuous[key].mean[at])
        else:
            inputs[key] = float(reference.binary[key][at])
    return inputs


def consensus_age(bone_age: dict[str, float], outliers: set[str], ages: np.ndarray) -> float:
    """Median of the per-bone ages that are not outliers (mid-grid without any)."""
    kept = [age for bone, age in bone_age.items() if bone not in outliers]
    return float(np.median(kept)) if kept else float(np.median(ages))


def _score_lookup(
    reference: SexReference,
    continuous: dict[str, float],
    binary: dict[str, bool],
    bone_age: dict[str, float],
    outliers: set[str],
    ages: np.ndarray,
) -> tuple[tuple[float, float, float], dict[str, tuple[float, float, float]], Beyond | None]:
    """(estimate, low, high) of the maturity score's table, of each part's, and whether the
    whole hand's score lies past the table (:meth:`MaturityScore.beyond`).

    Every score reads the features as measured, outliers included: the ridge weights already
    give an unreliable feature little say, a part out of step with the rest is what an
    asynchrony is, and the whole and its parts must read the same measurements. (Setting the
    outliers aside and filling them in at the consensus age gave the same MAE on the
    calibration slice, 12.33 against 12.31 months, but read an infant's whole hand as 92 months
    while its carpal and tubular parts read 27 and 35.) Outliers are still listed for the
    reader."""
    score = reference.score
    assert score is not None
    consensus = consensus_age(bone_age, outliers, ages)
    every = score_inputs(reference, continuous, binary, consensus, ages)
    value = score.value(every)
    parts = {name: part.lookup(every) for name, part in reference.parts.items()}
    return score.read(value), parts, score.beyond(value)


def _beyond_words(side: Beyond, age_months: float) -> str:
    """What a reader must know of a hand the table cannot place: the age the table holds it at
    is a bound, not an estimate. Of ten real films of children from infancy to three years, four
    read exactly at the girls' table's youngest age (18 months), with nothing said, before this."""
    if side == "below":
        return (
            "The hand reads less mature than any the reference table resolves: the multi-step "
            f"age is held at the table's youngest, {age_months:.0f} months, and the child's bone "
            "age may be lower (the interval reaches down to birth)."
        )
    return (
        "The hand reads more mature than any the reference table resolves: the multi-step age "
        f"is held at the table's oldest, {age_months:.0f} months, and the bone age may be "
        "higher (the interval reaches up to 19 years)."
    )


def per_bone_ages(
    reference: SexReference, continuous: dict[str, float], ages: np.ndarray
) -> tuple[dict[str, str], dict[str, float], set[str]]:
    """Each informative feature's own age (the maximum of its likelihood), keyed by its bone,
    with the feature it came from, and the bones flagged as outliers (:data:`OUTLIER_Z`)."""
    bone_feature: dict[str, str] = {}
    bone_age: dict[str, float] = {}
    for key, value in continuous.items():
        curve = reference.continuous[key]
        if np.ptp(curve.mean) >= INFORMATIVE_RANGE_SDS * float(np.median(curve.sd)):
            bone = key.split(":", 1)[1]
            bone_feature[bone] = key
            bone_age[bone] = float(ages[np.argmax(curve.log_likelihood(value))])
    outliers = _flag_outliers(continuous, reference.continuous, bone_feature, bone_age, ages)
    return bone_feature, bone_age, outliers


def estimate_age(
    table: ReferenceTable, measurements: Measured, sex: str, mode: SpacingMode
) -> AgeEstimate:
    """Age of a hand from its measurements (see the module docstring for the model).

    Raises ``ValueError`` when no measured feature is in the table (the caller rejects such a
    study before it gets here)."""
    if mode not in table.modes():
        raise ValueError(f"table {table.ident} has no {mode} curves")
    if sex not in table.sexes:
        raise ValueError(f"sex must be one of {sorted(table.sexes)}, got {sex!r}")
    reference = table.sexes[sex]
    continuous, binary = features(measurements, mode)
    continuous = {k: v for k, v in continuous.items() if k in reference.continuous}
    binary = {k: v for k, v in binary.items() if k in reference.binary}
    if not continuous and not binary:
        raise ValueError("none of the measured features is in the reference table")
    ages = table.ages_months

    bone_feature, bone_age, outliers = per_bone_ages(reference, continuous, ages)
    kept = {k: v for k, v in continuous.items() if k.split(":", 1)[1] not in outliers}

    parts: dict[str, tuple[float, float, float]] = {}
    beyond = None
    if reference.score is not None:
        (median, low, high), parts, beyond = _score_lookup(
            reference, continuous, binary, bone_age, outliers, ages
        )
    else:
        log_likelihood = _independent_log_likelihood(table, reference, kept, binary)
        median, low, high = _posterior_summary(ages, log_likelihood / table.temperature)
    scale = table.interval_scales.get(mode, 1.0)
    low = max(float(ages[0]), median - scale * (median - low))
    high = min(float(ages[-1]), median + scale * (high - median))
    if beyond == "below":
        low = float(ages[0])
    elif beyond == "above":
        high = float(ages[-1])
    return AgeEstimate(
        age_months=median,
        interval_months=(low, high),
        spacing_mode=mode,
        bone_ages=tuple(
            BoneAge(bone, bone_feature[bone], age, bone in outliers)
            for bone, age in bone_age.items()
        ),
        outliers=tuple(sorted(outliers)),
        features_used=len(kept) + len(binary),
        parts=parts,
        beyond_table=None if beyond is None else _beyond_words(beyond, median),
    )

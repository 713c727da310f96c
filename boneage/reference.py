"""The sex-specific reference table: bone measurements to an age in months with an interval.

A table holds, for each sex, on a grid of ages (months):

- continuous features, each a mean and SD curve: ``length_mm:<bone>`` (absolute lengths),
  ``length_ratio:<bone>`` (length over ``metacarpal_3``), ``relative_size:<centre>`` (epiphysis
  width over metaphysis width, carpal area over capitate area);
- binary features, each a probability curve: ``present:<centre>`` (ossification centre visible)
  and ``fused:<epiphysis>`` (physis closed).

Lookup is a likelihood over the age grid from every feature measured, with a flat prior; the
estimate is the posterior median and the interval its central :data:`COVERAGE` range. The
features are not independent in a real child (an advanced child is advanced in every centre), so
the log-likelihood is divided by the table's ``temperature``, calibrated so that the interval
covers the true age as often as it claims (:mod:`boneage.training.reference_fit`). That calibration
holds
for the measurements it was made on: a table read through a U-Net meets segmentation errors that
true masks do not have, so it also carries, per spacing mode, a split-conformal multiplier of the
interval's half-widths (``interval_scales``) calibrated on that U-Net's measurements. Bone lengths
of one hand are not independent (a tall child has long bones throughout), so the length features
share a common size factor: their z-scores are jointly normal with correlation
``shared_fraction`` (closed form below). Every bone with a continuous feature also gets its own
age (the maximum of its own likelihood, i.e. the inverse of its mean curve); a bone whose
measurement lies too many of its own SDs from what the consensus of those ages predicts
(:data:`OUTLIER_Z`) is an outlier, excluded from the combined estimate and listed — never
silently averaged in.

The default table (:func:`default_reference`) is built from :mod:`boneage.anatomy` (reference
lengths, appearance and fusion timing); :mod:`boneage.training.reference_fit` refits it from data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from statistics import NormalDist
from typing import Any, Literal, Protocol

import numpy as np

import boneage
from boneage import anatomy
from boneage.errors import ModelUnavailable
from boneage.measure import RATIO_BASE, UNMEASURED_LENGTHS

SpacingMode = Literal["absolute_mm", "ratios"]
SCHEMA = "boneage-reference/3"
"""Version 2 added ``interval_scales``, version 3 a per-sex maturity ``score``
(:class:`MaturityScore`); older tables still load, without them."""
READABLE_SCHEMAS = ("boneage-reference/1", "boneage-reference/2", SCHEMA)
AGE_GRID_MONTHS = np.arange(0.0, 229.0, 1.0)
"""Ages (months) the curves are tabulated on: birth to 19 years."""
COVERAGE = 0.9
"""Posterior mass inside the reported interval."""
MISREAD_PROBABILITY = 0.03
"""Chance that segmentation misreads a centre's presence or a physis' fusion; keeps one misread
binary feature from ruling an age out completely."""
RATIO_CV = 0.035
"""Default coefficient of variation of a length ratio within one hand. Assumed: with the shared
size factor cancelled, the bone-specific scatter of about a third of the 6.5 % length CV of
:mod:`boneage.anatomy`, times sqrt(2) for the two bones of a ratio."""
SHARED_FRACTION = {"length_mm": 0.85, "length_ratio": 0.0}
"""Default fraction of the length variance that is shared by all bones of one hand. Assumed, of
the order of the high inter-bone length correlations in the hand; ratios cancel the shared size."""
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
DEFAULT_TEMPERATURE = 3.0
"""Temperature of the default table: the smallest of
:data:`boneage.training.reference_fit.TEMPERATURES`
whose 90 % intervals covered >= 90 % of 240 phantoms (seeds 20000-20239, true masks at 256 px);
on 40 held-out phantoms the coverage was 0.85 (absolute) and 0.88 (ratios). A phantom
calibration: on real radiographs it is unvalidated."""


@dataclass(frozen=True)
class Curve:
    """Mean and SD of a continuous feature on the table's age grid."""

    mean: np.ndarray
    sd: np.ndarray

    def log_likelihood(self, value: float) -> np.ndarray:
        z = (value - self.mean) / self.sd
        return -0.5 * z**2 - np.log(self.sd)


SCORE_CLIP = 4.0


@dataclass(frozen=True)
class MaturityScore:
    """One number, in months, that sums what every measurement says about maturity, as the
    Tanner-Whitehouse method sums its bone scores before a table turns the sum into an age.

    The score is a ridge regression on the standardised features and their squares, fitted on
    the table's training hands of one sex (:mod:`boneage.training.reference_fit`). Measurements
    of one hand are strongly correlated (a mature hand is mature at every joint), and a
    likelihood that multiplies them as if independent counts the same evidence many times over;
    the regression weighs each by what it adds. As in Tanner-Whitehouse, a table then turns
    the score into an age: ``age_mean`` and ``age_sd`` are the mean and SD of the training
    hands' true age against their score, tabulated at the scores of :data:`AGE_GRID_MONTHS`
    (the score is in months), from which the estimate and its interval are read."""

    keys: tuple[str, ...]
    centre: np.ndarray
    spread: np.ndarray
    weights: np.ndarray
    """Coefficients of the standardised features, then of their squares."""
    intercept: float
    age_mean: np.ndarray
    age_sd: np.ndarray

    def value(self, features: dict[str, float]) -> float:
        """The score of a hand whose every key is in ``features``."""
        x = self.standardise(np.array([features[k] for k in self.keys]))
        return float(np.concatenate([x, x**2]) @ self.weights + self.intercept)

    def lookup(self, features: dict[str, float]) -> tuple[float, float, float]:
        """(age, low, high): the mean age at this hand's score and the central
        :data:`COVERAGE` range of a normal with the SD there."""
        value = self.value(features)
        mean = float(np.interp(value, AGE_GRID_MONTHS, self.age_mean))
        sd = float(np.interp(value, AGE_GRID_MONTHS, self.age_sd))
        half = NormalDist().inv_cdf(0.5 + COVERAGE / 2) * sd
        return mean, mean - half, mean + half

    def standardise(self, values: np.ndarray) -> np.ndarray:
        """Features as z-scores of the training hands, clipped to ±:data:`SCORE_CLIP`: one wild
        measurement must not dominate a sum with squared terms."""
        return np.clip((values - self.centre) / self.spread, -SCORE_CLIP, SCORE_CLIP)

    def to_json(self) -> dict[str, Any]:
        return {
            "keys": list(self.keys),
            "centre": _rounded(self.centre),
            "spread": _rounded(self.spread),
            "weights": _rounded(self.weights),
            "intercept": self.intercept,
            "age_mean": _rounded(self.age_mean),
            "age_sd": _rounded(self.age_sd),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> MaturityScore:
        return cls(
            keys=tuple(raw["keys"]),
            centre=np.asarray(raw["centre"], float),
            spread=np.asarray(raw["spread"], float),
            weights=np.asarray(raw["weights"], float),
            intercept=float(raw["intercept"]),
            age_mean=np.asarray(raw["age_mean"], float),
            age_sd=np.asarray(raw["age_sd"], float),
        )


MATURITY_PARTS = ("carpal", "tubular")
"""The two parts of the skeleton a reader compares: the carpal bones, and the tubular bones of
the fingers and thumb (their epiphyses and lengths)."""


def part_of(key: str) -> str:
    """Which :data:`MATURITY_PARTS` a feature belongs to."""
    return "carpal" if "carpus" in key or "carpal" in key else "tubular"


@dataclass(frozen=True)
class SexReference:
    continuous: dict[str, Curve]
    binary: dict[str, np.ndarray]
    score: MaturityScore | None = None
    parts: dict[str, MaturityScore] = field(default_factory=dict)
    """A score of each part alone (:data:`MATURITY_PARTS`), to tell whether they disagree."""


@dataclass(frozen=True)
class ReferenceTable:
    """A versioned table; ``provenance`` names the source data, its size, date and code version."""

    name: str
    version: str
    ages_months: np.ndarray
    sexes: dict[str, SexReference]
    shared_fraction: dict[str, float] = field(default_factory=lambda: dict(SHARED_FRACTION))
    temperature: float = 1.0
    interval_scales: dict[str, float] = field(default_factory=dict)
    """Per spacing mode, the multiplier of the interval's half-widths; 1.0 for a mode not here."""
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def parameter_count(self) -> int:
        """Numbers fitted per sex: a mean and an SD curve per continuous feature, a probability
        curve per binary one (what a model card lists as the table's parameters)."""
        return sum(
            len(r.continuous) * 2
            + len(r.binary)
            + (0 if r.score is None else len(r.score.weights) + 1 + 2 * len(r.score.age_mean))
            for r in self.sexes.values()
        )

    @property
    def ident(self) -> str:
        return f"{self.name}@{self.version}"

    def modes(self) -> tuple[SpacingMode, ...]:
        """Spacing modes this table can answer (absolute needs ``length_mm`` curves)."""
        features = self.sexes["F"].continuous
        has_mm = any(key.startswith("length_mm:") for key in features)
        return ("absolute_mm", "ratios") if has_mm else ("ratios",)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "name": self.name,
            "version": self.version,
            "provenance": self.provenance,
            "shared_fraction": self.shared_fraction,
            "temperature": self.temperature,
            "interval_scales": self.interval_scales,
            "ages_months": self.ages_months.tolist(),
            "sexes": {
                sex: {
                    "continuous": {
                        key: {"mean": _rounded(c.mean), "sd": _rounded(c.sd)}
                        for key, c in ref.continuous.items()
                    },
                    "binary": {key: _rounded(p) for key, p in ref.binary.items()},
                }
                | ({} if ref.score is None else {"score": ref.score.to_json()})
                | (
                    {"parts": {name: part.to_json() for name, part in ref.parts.items()}}
                    if ref.parts
                    else {}
                )
                for sex, ref in self.sexes.items()
            },
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ReferenceTable:
        if raw.get("schema") not in READABLE_SCHEMAS:
            raise ModelUnavailable(f"reference table schema {raw.get('schema')!r} is not {SCHEMA}")
        sexes = {
            sex: SexReference(
                continuous={
                    key: Curve(np.asarray(c["mean"]), np.asarray(c["sd"]))
                    for key, c in ref["continuous"].items()
                },
                binary={key: np.asarray(p) for key, p in ref["binary"].items()},
                score=MaturityScore.from_json(ref["score"]) if "score" in ref else None,
                parts={
                    name: MaturityScore.from_json(part)
                    for name, part in ref.get("parts", {}).items()
                },
            )
            for sex, ref in raw["sexes"].items()
        }
        return cls(
            name=raw["name"],
            version=raw["version"],
            ages_months=np.asarray(raw["ages_months"], dtype=float),
            sexes=sexes,
            shared_fraction=dict(raw["shared_fraction"]),
            temperature=float(raw["temperature"]),
            interval_scales={k: float(v) for k, v in raw.get("interval_scales", {}).items()},
            provenance=dict(raw["provenance"]),
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> ReferenceTable:
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except (OSError, ValueError, KeyError) as error:
            raise ModelUnavailable(f"The reference table {path} cannot be read: {error}") from error


def _rounded(values: np.ndarray) -> list[float]:
    return [float(f"{v:.6g}") for v in np.asarray(values, dtype=float)]


def default_reference(ages_months: np.ndarray = AGE_GRID_MONTHS) -> ReferenceTable:
    """The table implied by :mod:`boneage.anatomy`: its length curves (absolute and relative to
    ``metacarpal_3`` with :data:`RATIO_CV`), appearance and fusion probabilities. No relative-size
    curves: the anatomy module has no published source for them; a fitted table adds them."""
    sexes = {}
    for sex in ("F", "M"):
        continuous: dict[str, Curve] = {}
        lengths = {
            bone: np.array([anatomy.bone_length_mm(bone, a, sex) for a in ages_months]).T
            for bone in anatomy.LENGTH_BONES
        }
        for bone, (mean, sd) in lengths.items():
            if bone in UNMEASURED_LENGTHS:
                continue
            continuous[f"length_mm:{bone}"] = Curve(mean, sd)
            if bone != RATIO_BASE:
                ratio = mean / lengths[RATIO_BASE][0]
                continuous[f"length_ratio:{bone}"] = Curve(ratio, RATIO_CV * ratio)
        binary = {
            f"present:{centre}": np.array(
                [anatomy.ossification_probability(centre, a, sex) for a in ages_months]
            )
            for centre in anatomy.OSSIFICATION_CENTRES
        }
        for epiphysis in anatomy.EPIPHYSES:
            binary[f"fused:{epiphysis.name}"] = np.array(
                [anatomy.physis_fused_probability(epiphysis.name, a, sex) for a in ages_months]
            )
        sexes[sex] = SexReference(continuous, binary)
    provenance = {
        "source": "boneage.anatomy (Garn et al. 1972, Maresh 1955, CDC 2000 stature, "
        "Greulich & Pyle 1959, Gilsanz & Ratib 2005, Garn et al. 1967)",
        "size": None,
        "date": date.today().isoformat(),
        "code_version": boneage.__version__,
    }
    return ReferenceTable(
        "reference-default",
        "1.0.0",
        np.asarray(ages_months, float),
        sexes,
        temperature=DEFAULT_TEMPERATURE,
        provenance=provenance,
    )


class Measured(Protocol):
    """What a table reads: the measurements of one hand, from the phantom-trained bone U-Net
    (:class:`boneage.measure.Measurements`) or the landmark U-Net for real films
    (:class:`boneage.hand_measure.HandMeasurements`)."""

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
) -> tuple[tuple[float, float, float], dict[str, tuple[float, float, float]]]:
    """(estimate, low, high) of the maturity score's table, and of each part's.

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
    whole = score.lookup(every)
    parts = {name: part.lookup(every) for name, part in reference.parts.items()}
    return whole, parts


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
    if reference.score is not None:
        (median, low, high), parts = _score_lookup(
            reference, continuous, binary, bone_age, outliers, ages
        )
    else:
        log_likelihood = _independent_log_likelihood(table, reference, kept, binary)
        median, low, high = _posterior_summary(ages, log_likelihood / table.temperature)
    scale = table.interval_scales.get(mode, 1.0)
    low = max(float(ages[0]), median - scale * (median - low))
    high = min(float(ages[-1]), median + scale * (high - median))
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
    )

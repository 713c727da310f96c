"""Refitting the reference table from labelled hands (measured masks with known age and sex).

Each continuous feature's mean and SD by age is a Gaussian-kernel local-linear regression on the
age grid (bandwidth :data:`BANDWIDTH_MONTHS`), each binary feature's probability a kernel-weighted
proportion; where the data run out the nearest fitted value is carried on. The shared fraction of
length variance is the mean pairwise correlation of the hands' length z-scores. Written here
rather than taken from a library: scipy and scikit-learn have no weighted local-linear smoother
with a residual SD, and the whole estimator is a few lines of weighted least squares.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

import boneage
from boneage.multistep.estimator import (
    Measured,
    consensus_age,
    estimate_age,
    features,
    per_bone_ages,
    score_inputs,
)
from boneage.multistep.table import (
    AGE_GRID_MONTHS,
    COVERAGE,
    MATURITY_PARTS,
    Curve,
    MaturityScore,
    ReferenceTable,
    SexReference,
    part_of,
)
from boneage.training.common.conformal import conformal_scale

BANDWIDTH_MONTHS = 12.0
MIN_WEIGHT = 3.0
"""Grid ages with less kernel weight (about this many samples within a bandwidth) are not fitted
but take the nearest fitted value; a feature with no grid age reaching it (a few hands spread
over many years) is left out of the table."""
MIN_SAMPLES = 10
"""A feature seen in fewer hands of one sex is left out of that sex's table."""
SD_FLOOR_FRACTION = 0.02
"""Lower bound of a fitted SD as a fraction of the mean: measurement noise of 2 % at least."""
SD_FLOOR_SPREAD = 0.05
"""Lower bound of a fitted SD as a fraction of the feature's SD over all hands: a share that is
zero at every hand of an age (no epiphysis yet) still leaves room for one that is not."""
DEFAULT_TEMPERATURE = 3.0
"""Temperature of a table too small to calibrate, and of the phantom era's default table: the
smallest of
:data:`boneage.training.reference.fit.TEMPERATURES`
whose 90 % intervals covered >= 90 % of 240 phantoms (seeds 20000-20239, true masks at 256 px);
on 40 held-out phantoms the coverage was 0.85 (absolute) and 0.88 (ratios). A phantom
calibration: on real radiographs it is unvalidated."""
PROBABILITY_BOUNDS = (0.005, 0.995)
MIN_HANDS = 4 * MIN_SAMPLES
"""Fewest hands to fit from: half of them fit the curves that calibrate the temperature, and each
half holds both sexes."""


@dataclass(frozen=True)
class Sample:
    """One labelled hand: its measurements and true age (months) and sex."""

    measurements: Measured
    age_months: float
    sex: str


def _fill(values: np.ndarray, valid: np.ndarray, ages: np.ndarray) -> np.ndarray:
    return np.interp(ages, ages[valid], values[valid])


def _kernel(ages: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Weights (grid, samples) of the Gaussian kernel."""
    return np.exp(-0.5 * ((ages[:, None] - x[None, :]) / BANDWIDTH_MONTHS) ** 2)


def _dense_enough(x: np.ndarray, ages: np.ndarray) -> bool:
    """Whether some grid age has at least :data:`MIN_WEIGHT` of kernel weight from ``x``."""
    return bool(_kernel(ages, x).sum(axis=1).max() >= MIN_WEIGHT)


def fit_curve(x: np.ndarray, y: np.ndarray, ages: np.ndarray) -> Curve:
    """Local-linear mean and kernel-weighted residual SD of ``y`` against age ``x``."""
    weights = _kernel(ages, x)
    total = weights.sum(axis=1)
    dx = x[None, :] - ages[:, None]
    s1, s2 = (weights * dx).sum(1), (weights * dx**2).sum(1)
    t0, t1 = (weights * y).sum(1), (weights * dx * y).sum(1)
    determinant = total * s2 - s1**2
    safe = np.abs(determinant) > 1e-9 * np.maximum(total * s2, 1e-12)
    mean = np.where(
        safe, (s2 * t0 - s1 * t1) / np.where(safe, determinant, 1), t0 / np.maximum(total, 1e-12)
    )
    fitted_at_samples = np.interp(x, ages, mean)
    variance = (weights * (y - fitted_at_samples) ** 2).sum(1) / np.maximum(total, 1e-12)
    valid = total >= MIN_WEIGHT
    # Every continuous feature is a positive size; a local-linear line can dip below zero where
    # the data thin out, and the lookup takes logarithms of the mean.
    mean = np.maximum(_fill(mean, valid, ages), 0.5 * float(np.min(y)))
    sd = _fill(np.sqrt(variance), valid, ages)
    floor = np.maximum(SD_FLOOR_FRACTION * np.abs(mean), SD_FLOOR_SPREAD * float(np.std(y)))
    return Curve(mean, np.maximum(sd, np.maximum(floor, 1e-9)))


def fit_probability(x: np.ndarray, observed: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """Kernel-weighted proportion of ``observed`` (bool) by age, clipped to PROBABILITY_BOUNDS."""
    weights = _kernel(ages, x)
    total = weights.sum(axis=1)
    proportion = (weights * observed).sum(1) / np.maximum(total, 1e-12)
    return np.clip(_fill(proportion, total >= MIN_WEIGHT, ages), *PROBABILITY_BOUNDS)


def _shared_fraction(rows: list[dict[str, float]], curves: dict[str, Curve], ages: list[float]):
    """Mean pairwise correlation of the hands' log-length z-scores (clipped to 0-0.95)."""
    estimates = []
    for row, age in zip(rows, ages, strict=True):
        z = [
            np.log(v / np.interp(age, AGE_GRID_MONTHS, curves[k].mean))
            / np.interp(age, AGE_GRID_MONTHS, curves[k].sd / curves[k].mean)
            for k, v in row.items()
            if k in curves
        ]
        if len(z) >= 2:
            z = np.asarray(z)
            estimates.append((z.sum() ** 2 - (z**2).sum()) / (len(z) * (len(z) - 1)))
    return float(np.clip(np.mean(estimates), 0.0, 0.95)) if estimates else 0.0


TEMPERATURES = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)


def calibrate_temperature(table: ReferenceTable, samples: Iterable[Sample]) -> float:
    """The smallest temperature from :data:`TEMPERATURES` whose intervals cover the true age of
    ``samples`` (hands not used to fit ``table``) at least :data:`~boneage.multistep.table.COVERAGE`
    of the time in every spacing mode the table has (the largest one when none does).

    Only the samples ``table`` can read count: a table fitted on few hands may have no curve
    for one sex (with 25 hands, one sex had too few within a year of any age), and that must not
    sink the fit of the full set, whose curves have twice the hands. With no readable sample at
    all the temperature stays :data:`~boneage.phantom.reference_default.DEFAULT_TEMPERATURE`."""
    samples = [s for s in samples if _readable(table, s)]
    if not samples:
        return DEFAULT_TEMPERATURE
    for temperature in TEMPERATURES:
        tempered = replace(table, temperature=temperature)
        coverage = []
        for mode in table.modes():
            inside = []
            for sample in samples:
                estimate = estimate_age(tempered, sample.measurements, sample.sex, mode)
                low, high = estimate.interval_months
                inside.append(low <= sample.age_months <= high)
            coverage.append(np.mean(inside))
        if min(coverage) >= COVERAGE:
            return temperature
    return TEMPERATURES[-1]


def _readable(table: ReferenceTable, sample: Sample) -> bool:
    """Whether ``table`` has a curve for some feature of ``sample`` in each of its modes."""
    reference = table.sexes.get(sample.sex)
    if reference is None:
        return False
    for mode in table.modes():
        continuous, binary = features(sample.measurements, mode)
        if not any(k in reference.continuous for k in continuous) and not any(
            k in reference.binary for k in binary
        ):
            return False
    return True


def fit_reference(
    samples: Iterable[Sample],
    *,
    name: str,
    version: str,
    source: str,
    maturity_score: bool = False,
) -> ReferenceTable:
    """A table fitted to ``samples`` in both spacing modes (absolute only from hands measured with
    a spacing), its temperature calibrated by fitting on every other sample and checking the
    coverage on the rest. ``source`` names the dataset in the provenance. With
    ``maturity_score`` each sex also gets a :class:`~boneage.multistep.table.MaturityScore` and its
    curve, which the lookup then reads instead of multiplying the features' likelihoods."""
    samples = list(samples)
    if len(samples) < MIN_HANDS:
        raise ValueError(f"a reference fit needs at least {MIN_HANDS} hands, got {len(samples)}")
    options = {"name": name, "version": version, "source": source, "score": maturity_score}
    table = _fit_curves(samples, **options)
    if all(reference.score is not None for reference in table.sexes.values()):
        # One feature, read once: nothing is counted twice, so there is nothing to temper; the
        # interval is calibrated afterwards (calibrate_interval_scales).
        return table
    options["score"] = False
    table = _fit_curves(samples, **options)
    half = _fit_curves(samples[::2], **options)
    temperature = calibrate_temperature(half, samples[1::2])
    return replace(table, temperature=temperature)


def calibrate_interval_scales(table: ReferenceTable, samples: Iterable[Sample]) -> dict[str, float]:
    """Per spacing mode of ``table``, the split-conformal multiplier of the interval's half-widths
    (:func:`boneage.training.common.conformal.conformal_scale`, each case scored against the half
    on its side of the median) that makes the interval cover
    :data:`~boneage.multistep.table.COVERAGE` of ``samples`` (hands not used to fit ``table``). The
    absolute mode uses the samples with a spacing.

    Widening around the estimate rather than raising the temperature: a flatter posterior also
    pulls its median toward the middle of the age grid, so tempering for coverage would move
    the estimate itself (behind the demo U-Net, the temperature that reached 90 % coverage, 6,
    moved the ratio-mode MAE on 60 held-out phantoms from 31.1 to 33.4 months)."""
    samples = list(samples)
    scales: dict[str, float] = {}
    for mode in table.modes():
        residuals, half_widths = [], []
        for sample in samples:
            if mode == "absolute_mm" and sample.measurements.spacing_mm is None:
                continue
            estimate = estimate_age(table, sample.measurements, sample.sex, mode)
            low, high = estimate.interval_months
            residual = sample.age_months - estimate.age_months
            residuals.append(residual)
            half_widths.append(
                max(high - estimate.age_months if residual > 0 else estimate.age_months - low, 1e-6)
            )
        if residuals:
            scales[mode] = conformal_scale(np.array(residuals), np.array(half_widths), COVERAGE)
    return scales


def _fit_curves(
    samples: list[Sample], *, name: str, version: str, source: str, score: bool = False
) -> ReferenceTable:
    ages = AGE_GRID_MONTHS
    sexes: dict[str, SexReference] = {}
    shared: dict[str, list[float]] = {"length_mm": [], "length_ratio": []}
    for sex in ("F", "M"):
        group = [s for s in samples if s.sex == sex]
        continuous_rows: list[dict[str, float]] = []
        binary_rows: list[dict[str, bool]] = []
        for sample in group:
            ratio_features, binary = features(sample.measurements, "ratios")
            absolute = (
                features(sample.measurements, "absolute_mm")[0]
                if sample.measurements.spacing_mm is not None
                else {}
            )
            continuous_rows.append(ratio_features | absolute)
            binary_rows.append(binary)
        x_all = np.array([s.age_months for s in group])
        continuous: dict[str, Curve] = {}
        for key in sorted({k for row in continuous_rows for k in row}):
            seen = [i for i, row in enumerate(continuous_rows) if key in row]
            if len(seen) >= MIN_SAMPLES and _dense_enough(x_all[seen], ages):
                y = np.array([continuous_rows[i][key] for i in seen])
                continuous[key] = fit_curve(x_all[seen], y, ages)
        binary_curves: dict[str, np.ndarray] = {}
        for key in sorted({k for row in binary_rows for k in row}):
            seen = [i for i, row in enumerate(binary_rows) if key in row]
            if len(seen) >= MIN_SAMPLES and _dense_enough(x_all[seen], ages):
                observed = np.array([binary_rows[i][key] for i in seen], dtype=float)
                binary_curves[key] = fit_probability(x_all[seen], observed, ages)
        sexes[sex] = SexReference(continuous, binary_curves)
        if score:
            sexes[sex] = fit_score(sexes[sex], continuous_rows, binary_rows, x_all, ages)
        for quantity in shared:
            rows = [
                {k: v for k, v in row.items() if k.startswith(f"{quantity}:")}
                for row in continuous_rows
            ]
            shared[quantity].append(_shared_fraction(rows, continuous, list(x_all)))
    provenance = {
        "source": source,
        "size": len(samples),
        "date": date.today().isoformat(),
        "code_version": boneage.__version__,
        "method": f"Gaussian-kernel local-linear fit, bandwidth {BANDWIDTH_MONTHS:g} months"
        + (", ridge maturity score per sex" if score else ""),
    }
    return ReferenceTable(
        name,
        version,
        ages,
        sexes,
        shared_fraction={q: float(np.mean(v)) for q, v in shared.items()},
        provenance=provenance,
    )


RIDGE_PENALTIES = (0.1, 1.0, 10.0, 100.0, 1000.0)
"""Ridge penalties tried for the maturity score; the one with the smallest error on every other
training hand (fitted on the rest) is refitted on all."""


def _ridge(x: np.ndarray, y: np.ndarray, penalty: float) -> tuple[np.ndarray, float]:
    design = np.concatenate([x, x**2], axis=1)
    centre = design.mean(0)
    centred = design - centre
    weights = np.linalg.solve(
        centred.T @ centred + penalty * np.eye(design.shape[1]), centred.T @ (y - y.mean())
    )
    return weights, float(y.mean() - centre @ weights)


def fit_score(
    reference: SexReference,
    continuous_rows: list[dict[str, float]],
    binary_rows: list[dict[str, bool]],
    ages_true: np.ndarray,
    ages: np.ndarray,
) -> SexReference:
    """``reference`` with a :class:`~boneage.multistep.table.MaturityScore` and its age table, and
    one of each of :data:`~boneage.multistep.table.MATURITY_PARTS`, fitted on every hand as the
    lookup reads it: features not measured filled in from their curves at the other bones' consensus
    age (:func:`~boneage.multistep.estimator.score_inputs`)."""
    if len(ages_true) < MIN_SAMPLES * 2:
        return reference
    keys = tuple(sorted(reference.continuous)) + tuple(sorted(reference.binary))
    none = np.zeros(0)
    placeholder = MaturityScore(
        keys, np.zeros(len(keys)), np.ones(len(keys)), none, 0.0, age_mean=none, age_sd=none
    )
    with_keys = replace(reference, score=placeholder)
    every = []
    for continuous, binary in zip(continuous_rows, binary_rows, strict=True):
        measured = {k: v for k, v in continuous.items() if k in reference.continuous}
        _, bone_age, outliers = per_bone_ages(reference, measured, ages)
        known = {k: v for k, v in binary.items() if k in reference.binary}
        consensus = consensus_age(bone_age, outliers, ages)
        row = score_inputs(with_keys, measured, known, consensus, ages)
        every.append([row[k] for k in keys])
    score = _fit_maturity(placeholder, np.array(every), ages_true, ages)
    parts = {}
    for part in MATURITY_PARTS:
        columns = [i for i, key in enumerate(keys) if part_of(key) == part]
        if columns:
            subset = replace(placeholder, keys=tuple(keys[i] for i in columns))
            parts[part] = _fit_maturity(subset, np.array(every)[:, columns], ages_true, ages)
    return replace(reference, score=score, parts=parts)


def _fit_maturity(
    placeholder: MaturityScore, x: np.ndarray, ages_true: np.ndarray, ages: np.ndarray
) -> MaturityScore:
    """A score of the inputs ``x`` (hands by ``placeholder.keys``): the ridge penalty chosen on
    every other hand, the weights refitted on all, the age-by-score table fitted on all."""
    centre, spread = x.mean(0), np.maximum(x.std(0), 1e-9)
    z = replace(placeholder, centre=centre, spread=spread).standardise(x)
    fit_part, check_part = np.arange(len(z)) % 2 == 0, np.arange(len(z)) % 2 == 1

    def error(penalty: float) -> float:
        weights, intercept = _ridge(z[fit_part], ages_true[fit_part], penalty)
        predicted = np.concatenate([z[check_part], z[check_part] ** 2], 1) @ weights + intercept
        return float(np.mean(np.abs(predicted - ages_true[check_part])))

    weights, intercept = _ridge(z, ages_true, min(RIDGE_PENALTIES, key=error))
    values = np.concatenate([z, z**2], 1) @ weights + intercept
    by_score = fit_curve(values, ages_true, ages)
    return replace(
        placeholder,
        centre=centre,
        spread=spread,
        weights=weights,
        intercept=intercept,
        age_mean=by_score.mean,
        age_sd=by_score.sd,
    )


def held_out_metrics(table: ReferenceTable, samples: Iterable[Sample]) -> dict[str, float]:
    """Per spacing mode of ``table``, the mean absolute error (months) and the share of true ages
    inside the :data:`~boneage.multistep.table.COVERAGE` interval on ``samples`` (hands not used in
    the fit), keyed ``mae_months/<mode>`` and ``coverage_90/<mode>``; the absolute mode is scored on
    the samples measured with a spacing. NaN where no sample applies."""
    samples = list(samples)
    metrics: dict[str, float] = {}
    for mode in table.modes():
        usable = [s for s in samples if mode == "ratios" or s.measurements.spacing_mm is not None]
        estimates = [estimate_age(table, s.measurements, s.sex, mode) for s in usable]
        errors = [abs(e.age_months - s.age_months) for e, s in zip(estimates, usable, strict=True)]
        inside = [
            e.interval_months[0] <= s.age_months <= e.interval_months[1]
            for e, s in zip(estimates, usable, strict=True)
        ]
        metrics[f"mae_months/{mode}"] = float(np.mean(errors)) if errors else float("nan")
        metrics[f"coverage_90/{mode}"] = float(np.mean(inside)) if inside else float("nan")
    return metrics

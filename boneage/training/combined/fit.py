"""Fit the combination rule on the calibration slice of ``train``, never on ``val``.

The slice (:func:`boneage.training.common.splits.real_splits`, the same seeded 600 films that
calibrate the CNN's and the reference table's intervals, trained on by neither) is assessed as
uploads are, and split in two: on one half the multi-step weight is chosen, the one of a grid
that gives the smallest mean absolute error; on the other the combined interval's scale is set
split-conformally, so that its coverage is measured on films the weight was not chosen on.
Only the films both paths answered and agreed on count: those are the only ones the rule pools.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from boneage.assess import assess
from boneage.combined import Combination
from boneage.endtoend.cnn import COVERAGE
from boneage.errors import BoneAgeError
from boneage.io import read_radiograph
from boneage.registry import ModelBundle
from boneage.training.common.conformal import conformal_scale
from boneage.training.common.image_cache import dataset_records
from boneage.training.common.splits import real_splits

log = logging.getLogger(__name__)

WEIGHTS = tuple(float(w) for w in np.round(np.geomspace(0.1, 10, 41), 3))
"""The multi-step weights tried: 0.1 to 10 times its own precision."""


@dataclass(frozen=True)
class Pairs:
    """Both paths' (age, low, high) on the films they both answered and agreed on, and the
    truth."""

    multistep: np.ndarray
    endtoend: np.ndarray
    truth: np.ndarray


def assess_pairs(directory: Path, models: ModelBundle, indices: np.ndarray) -> Pairs:
    """Assess the films at ``indices`` of the dataset's labels (in their file order)."""
    records, _ = dataset_records(directory)
    multistep, endtoend, truth = [], [], []
    for index in tqdm(indices, desc="assess", unit="film"):
        record = records[int(index)]
        try:
            result = assess(read_radiograph(record.image_path), models=models, sex=record.sex)
        except BoneAgeError as error:
            log.info("%s: %s", record.id, error)
            continue
        m, e = result.record.multistep, result.record.endtoend
        if not (m.answered and e.answered and result.record.agreement.agree):
            continue
        multistep.append((m.age_months, *m.interval_months))
        endtoend.append((e.age_months, *e.interval_months))
        truth.append(record.age_months)
    return Pairs(np.array(multistep), np.array(endtoend), np.array(truth))


def calibration_indices(directory: Path, *, n_calibration: int, seed: int) -> np.ndarray:
    """The calibration slice of ``train``, as the trainers draw it."""
    records, splits = dataset_records(directory)
    split = np.array([splits.get(r.id, "") for r in records])
    return real_splits(split, n_calibration=n_calibration, seed=seed).calibration


def _combined(rule: Combination, pairs: Pairs) -> np.ndarray:
    return np.array(
        [
            rule.interval(tuple(m), tuple(e))
            for m, e in zip(pairs.multistep, pairs.endtoend, strict=True)
        ]
    )


def fit_combination(pairs: Pairs, *, seed: int = 0) -> tuple[Combination, dict[str, float]]:
    """The weight on one half, the conformal scale on the other; with the halves' figures."""
    order = np.random.default_rng(seed).permutation(len(pairs.truth))
    half = len(order) // 2

    def part(indices: np.ndarray) -> Pairs:
        return Pairs(pairs.multistep[indices], pairs.endtoend[indices], pairs.truth[indices])

    choose, calibrate = part(order[:half]), part(order[half:])

    def mae(weight: float) -> float:
        combined = _combined(Combination(weight, 1.0), choose)
        return float(np.abs(combined[:, 0] - choose.truth).mean())

    weight = min(WEIGHTS, key=mae)
    unit = _combined(Combination(weight, 1.0), calibrate)
    sd = unit[:, 2] - unit[:, 0]  # with scale 1 the half-width is one combined sd
    scale = conformal_scale(calibrate.truth - unit[:, 0], np.maximum(sd, 1e-6), COVERAGE)
    figures = {
        "chosen_on": float(len(choose.truth)),
        "calibrated_on": float(len(calibrate.truth)),
        "mae_chosen_half": round(mae(weight), 2),
        "mae_multistep_chosen_half": round(
            float(np.abs(choose.multistep[:, 0] - choose.truth).mean()), 2
        ),
        "mae_endtoend_chosen_half": round(
            float(np.abs(choose.endtoend[:, 0] - choose.truth).mean()), 2
        ),
    }
    return Combination(multistep_weight=weight, interval_scale=round(scale, 4)), figures

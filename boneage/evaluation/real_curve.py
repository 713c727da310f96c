"""The learning curve on real radiographs: ``val`` MAE against the number of age-labelled hands.

For each size ``n`` and seed ``s``, both paths learn from the same ``n`` hands, a random subset
of ``train`` (:func:`boneage.training.common.splits.real_splits` with ``n_train=n``, seeded by
``s``; the calibration slice is the same for every size), and all are scored on every ``val`` image:

- ``multistep-fitted``: the reference table fitted on the landmark U-Net's measurements of the
  ``n`` hands (:func:`boneage.training.reference.run.fit_real_reference`). The U-Net's own
  supervision is a fixed budget, independent of ``n``: the annotated ``train`` hands named on
  its card (keypoints and region masks, no ages).
- ``cnn``: the end-to-end CNN trained from scratch on the ``n`` hands
  (:func:`boneage.training.cnn.run.train_real_regression`), for :data:`CNN_EPOCHS`
  epochs of its own subset, so a larger set gets proportionally more steps, capped at the
  full-size run's time budget (:func:`cnn_budget_minutes`).
- ``mean-age``: every child read as the mean age of the ``n`` hands; what no learning scores.

Every row is appended to ``learning_curve.json`` in the output folder as soon as it is measured,
and a run skips the rows already there, so a long curve can stop and carry on where it stopped;
a CNN cut short resumes from its checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from boneage.evaluation.curves import Row
from boneage.training.common.config import TrainConfig
from boneage.training.common.image_cache import ImageCache
from boneage.training.common.splits import real_splits
from boneage.training.reference.hands import MeasuredHand
from boneage.training.reference.run import fit_real_reference

CNN_EPOCHS = 20
"""Epochs of its own subset each CNN of the curve trains for."""
CNN_MAX_MINUTES = 95.0
"""The shipped full-split CNN's time budget: no size of the curve trains longer."""
SECONDS_PER_IMAGE = 0.035
"""Wall seconds per image and step on this project's 2-core CPU (17 ms measured with nothing
else running, doubled for a busy machine); sizes the time budget so that it never binds before
the epochs do."""


def cnn_budget_minutes(n_train: int) -> float:
    """Time budget of the curve's CNN on ``n_train`` hands (see :data:`CNN_EPOCHS`)."""
    return min(CNN_MAX_MINUTES, max(1.0, CNN_EPOCHS * n_train * SECONDS_PER_IMAGE / 60))


@dataclass(frozen=True)
class RealCurveConfig:
    """One real learning curve."""

    sizes: tuple[int, ...]
    seeds: tuple[int, ...] = (0, 1)
    n_calibration: int = 600
    methods: tuple[str, ...] = ("multistep-fitted", "cnn", "mean-age")


def _row(method: str, n: int, seed: int, **fields) -> Row:
    return Row(
        method=method,
        n_train=n,
        seed=seed,
        spacing_mode="ratios" if method.startswith("multistep") else "",
        **fields,
    )


def multistep_row(hands: Sequence[MeasuredHand], n: int, seed: int, n_calibration: int) -> Row:
    start = time.perf_counter()
    fit = fit_real_reference(
        list(hands),
        name=f"reference-curve-n{n}-s{seed}",
        version="0",
        source=f"{n} RSNA train hands",
        n_calibration=n_calibration,
        seed=seed,
        n_train=n,
    )
    return _row(
        "multistep-fitted",
        n,
        seed,
        n_held_out=fit.n_val,
        mae_months=fit.metrics["mae_months"],
        coverage_90=fit.metrics["coverage_90"],
        n_rejected=sum(fit.rejections.values()),
        epochs=0,
        steps=0,
        seconds=time.perf_counter() - start,
        reference=fit.table.ident,
    )


def mean_age_row(cache: ImageCache, n: int, seed: int, n_calibration: int) -> Row:
    splits = real_splits(cache.split, n_calibration=n_calibration, seed=seed, n_train=n)
    truth = cache.age_months[splits.val]
    guess = float(np.mean(cache.age_months[splits.train]))
    return _row(
        "mean-age",
        n,
        seed,
        n_held_out=len(truth),
        mae_months=round(float(np.mean(np.abs(truth - guess))), 2),
        coverage_90=float("nan"),
        n_rejected=0,
        epochs=0,
        steps=0,
        seconds=0.0,
        reference="",
    )


def cnn_row(cache_path: Path, work: Path, n: int, seed: int, n_calibration: int) -> Row:
    from boneage.training.cnn.run import train_real_regression

    start = time.perf_counter()
    config = TrainConfig(
        budget_minutes=cnn_budget_minutes(n),
        max_epochs=CNN_EPOCHS,
        batch_size=min(32, n // 2),
        seed=seed,
    )
    run = work / f"cnn-n{n}-s{seed}"
    card = train_real_regression(
        cache_path,
        run,
        config,
        n_calibration=n_calibration,
        n_train=n,
        name=f"cnn-curve-n{n}-s{seed}",
        resume=True,
    )
    return _row(
        "cnn",
        n,
        seed,
        n_held_out=card.held_out.size,
        mae_months=float(card.held_out.mae_months),
        coverage_90=float(card.held_out.coverage_90),
        n_rejected=0,
        epochs=round(card.settings["epochs"]),
        steps=int(card.settings["steps"]),
        seconds=time.perf_counter() - start,
        reference="",
    )


def real_curve(
    config: RealCurveConfig,
    cache_path: Path,
    hands: Sequence[MeasuredHand],
    work: Path,
    done: Sequence[Row] = (),
) -> Iterator[Row]:
    """The rows not in ``done``, smallest size first and the cheap methods before the CNN."""
    cache = ImageCache.load(cache_path)
    measured = {(r.method, r.n_train, r.seed) for r in done}
    for n in sorted(config.sizes):
        for seed in config.seeds:
            for method in config.methods:
                if (method, n, seed) in measured:
                    continue
                if method == "multistep-fitted":
                    yield multistep_row(hands, n, seed, config.n_calibration)
                elif method == "mean-age":
                    yield mean_age_row(cache, n, seed, config.n_calibration)
                elif method == "cnn":
                    yield cnn_row(cache_path, work, n, seed, config.n_calibration)

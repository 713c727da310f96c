"""Held-out error against training-set size, for the multi-step path and the end-to-end CNN.

The claim behind the product: a pipeline of simple, well-posed sub-tasks (U-Net segmentation →
bone measurements → sex-specific reference table) works with little data, and an end-to-end CNN
overtakes it only with a lot. This module measures that, without tuning either side to win.

For each training size ``n`` and replicate ``r``, both paths train on the SAME ``n`` phantoms
(seeds ``r * SEED_STRIDE .. + n - 1``; smaller sets are prefixes of larger ones), and all are
evaluated on ONE fixed held-out set (seeds from :data:`EVALUATION_FIRST_SEED`). Methods (rows):

- ``multistep-default``: the U-Net trained on the ``n`` phantoms, with the published-anatomy table
  (:func:`boneage.phantom.reference_default.default_reference`), which needs no training data.
- ``multistep-fitted``: the same U-Net, with a table fitted (:func:`boneage.training.reference.fit.
  fit_reference`) to the U-Net's own measurements of the same ``n`` training phantoms; this is the
  fair data-only variant, since its table too is learnt from the ``n`` labelled hands.
- ``cnn``: the end-to-end regressor (:mod:`boneage.phantom.regress_train`), calibrated by split
conformal
  prediction on a fixed calibration set (seeds from ``CALIBRATION_FIRST_SEED``, never trained on).
  Both multi-step tables have their intervals calibrated the same way, on the same set, measured
  through the row's U-Net (:func:`multistep_rows`).
- ``mean-age``: predict the training set's mean age for everyone: what no learning scores.

The multi-step path is evaluated in the ``"ratios"`` mode (no pixel spacing), the mode a PNG
dataset such as RSNA allows (see :mod:`boneage.phantom.evaluate`); rejections are counted, not
scored.

Compute budget: every size gets the same number of optimisation steps, ``epochs`` epochs of the
LARGEST size, so a small set is passed over more often rather than trained less; otherwise a
curve would mostly measure how many gradient steps each size happened to get. The U-Net keeps its
own best-epoch selection on :data:`boneage.phantom.segment_train.HELD_OUT_FIRST_SEED` phantoms,
which is why the evaluation seeds start elsewhere (no selection on the test set).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from torch import nn

from boneage.evaluation.curves import Row
from boneage.multistep.table import ReferenceTable
from boneage.phantom.evaluate import (
    LabelledImage,
    MultistepEvaluation,
    evaluate_multistep,
    phantom_case,
)
from boneage.phantom.measure_hands import measure_case
from boneage.phantom.reference_default import default_reference
from boneage.phantom.regress_train import RegressTrainConfig, Sample, calibrate, evaluate, fit
from boneage.phantom.segment import load_unet
from boneage.phantom.segment_train import SegmentTrainConfig, train_segmentation
from boneage.training.common.splits import (
    CALIBRATION_FIRST_SEED,
    EVALUATION_FIRST_SEED,
)
from boneage.training.reference.fit import Sample as MeasuredHand
from boneage.training.reference.fit import calibrate_interval_scales, fit_reference

SEED_STRIDE = 1_000_000
"""Replicate ``r`` trains on phantoms from seed ``r * SEED_STRIDE``: disjoint sets per replicate."""

SEG_BATCH = SegmentTrainConfig.batch_size
CNN_BATCH = RegressTrainConfig.batch_size


@dataclass(frozen=True)
class CurveConfig:
    """One learning-curve measurement."""

    sizes: tuple[int, ...]
    seeds: tuple[int, ...] = (0,)
    epochs_seg: int = 10
    epochs_cnn: int = 10
    n_held_out: int = 60
    n_calibration: int = 40
    n_selection: int = 8
    """Phantoms the U-Net picks its best epoch on (``SegmentTrainConfig.n_held_out``)."""
    device: str | None = None

    def steps_seg(self) -> int:
        return self.epochs_seg * _batches(max(self.sizes), SEG_BATCH, drop_last=False)

    def steps_cnn(self) -> int:
        return self.epochs_cnn * _batches(max(self.sizes), CNN_BATCH, drop_last=True)


def _batches(n: int, batch: int, *, drop_last: bool) -> int:
    """Optimiser steps in one epoch of ``n`` cases (the loaders drop a last partial batch only
    in the CNN's loader, and only when ``n`` exceeds the batch)."""
    return n // batch if drop_last and n > batch else math.ceil(n / batch)


def epochs_for(n: int, steps: int, batch: int, *, drop_last: bool) -> int:
    """Epochs that give ``n`` cases about ``steps`` optimiser steps (at least one)."""
    return max(1, round(steps / _batches(n, batch, drop_last=drop_last)))


def _cnn_sample(case: LabelledImage) -> Sample:
    return Sample(
        image=case.image, male=1.0 if case.sex == "M" else 0.0, age_months=case.age_months
    )


def _cnn_rows(
    config: CurveConfig,
    train: Sequence[Sample],
    calibration: Sequence[Sample],
    held_out: Sequence[Sample],
    replicate: int,
    first_seed: int,
) -> list[Row]:
    """The CNN and the mean-age baseline trained on ``train``."""
    n = len(train)
    epochs = epochs_for(n, config.steps_cnn(), CNN_BATCH, drop_last=True)
    start = time.perf_counter()
    regressor = fit(
        RegressTrainConfig(n_train=n, epochs=epochs, seed=first_seed), train, device=config.device
    )
    calibrate(regressor, calibration)
    result = evaluate(regressor, held_out)
    seconds = time.perf_counter() - start
    truth = np.array([s.age_months for s in held_out])
    mean_age = float(np.mean([s.age_months for s in train]))
    return [
        Row(
            method="cnn",
            n_train=n,
            seed=replicate,
            mae_months=result.mae_months,
            coverage_90=result.coverage_90,
            n_held_out=result.size,
            n_rejected=0,
            epochs=epochs,
            steps=epochs * _batches(n, CNN_BATCH, drop_last=True),
            seconds=seconds,
            spacing_mode="image",
            reference="-",
        ),
        Row(
            method="mean-age",
            n_train=n,
            seed=replicate,
            mae_months=float(np.mean(np.abs(truth - mean_age))),
            coverage_90=float("nan"),
            n_held_out=len(held_out),
            n_rejected=0,
            epochs=0,
            steps=0,
            seconds=0.0,
            spacing_mode="-",
            reference="-",
        ),
    ]


def phantom_curve(config: CurveConfig, work_dir: Path) -> Iterator[Row]:
    """Rows of the phantom learning curve, smallest size first (so a run cut short still holds
    every replicate of the sizes it reached). U-Net checkpoints go to ``work_dir``."""
    held_out = [phantom_case(EVALUATION_FIRST_SEED + i) for i in range(config.n_held_out)]
    calibration = [phantom_case(CALIBRATION_FIRST_SEED + i) for i in range(config.n_calibration)]
    held_out_cnn = [_cnn_sample(c) for c in held_out]
    calibration_cnn = [_cnn_sample(c) for c in calibration]
    for n in sorted(config.sizes):
        for replicate in config.seeds:
            first = replicate * SEED_STRIDE
            if n > SEED_STRIDE:
                raise ValueError(f"training sizes must stay below {SEED_STRIDE}")
            seeds = list(range(first, first + n))
            epochs = epochs_for(n, config.steps_seg(), SEG_BATCH, drop_last=False)
            start = time.perf_counter()
            out_dir = work_dir / f"unet-n{n}-r{replicate}"
            train_segmentation(
                SegmentTrainConfig(
                    n_train=n, epochs=epochs, seed=first, n_held_out=config.n_selection
                ),
                out_dir,
                device=config.device,
            )
            model, _ = load_unet(out_dir / "unet.pt", device=config.device or "cpu")
            train = [phantom_case(s) for s in seeds]
            yield from multistep_rows(
                model,
                train,
                held_out,
                calibration,
                replicate=replicate,
                first_seed=first,
                epochs=epochs,
                unet_seconds=time.perf_counter() - start,
            )
            train_cnn = [_cnn_sample(c) for c in train]
            yield from _cnn_rows(config, train_cnn, calibration_cnn, held_out_cnn, replicate, first)


def multistep_rows(
    model: nn.Module,
    train: Sequence[LabelledImage],
    held_out: Sequence[LabelledImage],
    calibration: Sequence[LabelledImage],
    *,
    replicate: int,
    first_seed: int,
    epochs: int,
    unet_seconds: float,
) -> Iterator[Row]:
    """Both multi-step rows of one U-Net trained on the ``train`` phantoms (seeds from
    ``first_seed`` on): the published-anatomy table, and a table fitted to the U-Net's
    measurements of those same phantoms. Each
    table's intervals are then widened split-conformally on the U-Net's measurements of the
    ``calibration`` cases (the CNN's calibration set), as the shipped demo table is
    (:func:`boneage.phantom.demo.fitted_reference`)."""
    n = len(train)
    shared = {
        "n_train": n,
        "seed": replicate,
        "epochs": epochs,
        "steps": epochs * _batches(n, SEG_BATCH, drop_last=False),
    }
    start = time.perf_counter()
    calibration_samples = [measure_case(case, model) for case in calibration]
    published = _calibrated(default_reference(), calibration_samples)
    yield _multistep_row(
        "multistep-default",
        evaluate_multistep(held_out, model=model, reference=published),
        published.ident,
        seconds=unet_seconds + time.perf_counter() - start,
        **shared,
    )
    start = time.perf_counter()
    try:
        table = fit_reference(
            [measure_case(case, model) for case in train],
            name=f"phantom-unet-n{n}-r{replicate}",
            version="0",
            source=f"U-Net measurements of phantom seeds {first_seed}-{first_seed + n - 1}",
        )
    except ValueError:
        # Too few measurable hands to fit a table: every held-out case goes unestimated.
        result = MultistepEvaluation(
            float("nan"), float("nan"), len(held_out), len(held_out), "ratios"
        )
        ident = "unfittable"
    else:
        table = _calibrated(table, calibration_samples)
        result, ident = evaluate_multistep(held_out, model=model, reference=table), table.ident
    yield _multistep_row(
        "multistep-fitted",
        result,
        ident,
        seconds=unet_seconds + time.perf_counter() - start,
        **shared,
    )


def curve_settings(config: CurveConfig) -> dict[str, object]:
    """What a phantom curve's table records beside ``config``: its step budgets and seed ranges."""
    return {
        "steps_seg": config.steps_seg(),
        "steps_cnn": config.steps_cnn(),
        "evaluation_first_seed": EVALUATION_FIRST_SEED,
        "calibration_first_seed": CALIBRATION_FIRST_SEED,
        "seed_stride": SEED_STRIDE,
    }


def _calibrated(table: ReferenceTable, samples: Sequence[MeasuredHand]) -> ReferenceTable:
    return replace(table, interval_scales=calibrate_interval_scales(table, samples))


def _multistep_row(
    method: str, result: MultistepEvaluation, reference: str, **fields: float
) -> Row:
    """A table row of one multi-step evaluation; ``fields`` are the run's size, seed, budget and
    seconds."""
    return Row(
        method=method,
        mae_months=result.mae_months,
        coverage_90=result.coverage_90,
        n_held_out=result.n_cases,
        n_rejected=result.n_rejected,
        spacing_mode=result.spacing_mode,
        reference=reference,
        **fields,
    )

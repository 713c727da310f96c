"""Held-out error against training-set size, for the multi-step path and the end-to-end CNN.

The claim behind the product: a pipeline of simple, well-posed sub-tasks (U-Net segmentation →
bone measurements → sex-specific reference table) works with little data, and an end-to-end CNN
overtakes it only with a lot. This module measures that, without tuning either side to win.

For each training size ``n`` and replicate ``r``, both paths train on the SAME ``n`` phantoms
(seeds ``r * SEED_STRIDE .. + n - 1``; smaller sets are prefixes of larger ones), and all are
evaluated on ONE fixed held-out set (seeds from :data:`EVALUATION_FIRST_SEED`). Methods (rows):

- ``multistep-default``: the U-Net trained on the ``n`` phantoms, with the published-anatomy table
  (:func:`boneage.phantom.reference_default.default_reference`), which needs no training data.
- ``multistep-fitted``: the same U-Net, with a table fitted (:func:`boneage.training.reference_fit.
  fit_reference`) to the U-Net's own measurements of the same ``n`` training phantoms; this is the
  fair data-only variant, since its table too is learnt from the ``n`` labelled hands.
- ``cnn``: the end-to-end regressor (:mod:`boneage.training.regress_train`), calibrated by split
conformal
  prediction on a fixed calibration set (seeds from ``CALIBRATION_FIRST_SEED``, never trained on).
  Both multi-step tables have their intervals calibrated the same way, on the same set, measured
  through the row's U-Net (:func:`multistep_rows`).
- ``mean-age``: predict the training set's mean age for everyone: what no learning scores.

The multi-step path is evaluated in the ``"ratios"`` mode (no pixel spacing), the mode a PNG
dataset such as RSNA allows (see :mod:`boneage.training.evaluate`); rejections are counted, not
scored.

Compute budget: every size gets the same number of optimisation steps, ``epochs`` epochs of the
LARGEST size, so a small set is passed over more often rather than trained less; otherwise a
curve would mostly measure how many gradient steps each size happened to get. The U-Net keeps its
own best-epoch selection on :data:`boneage.training.segment_train.HELD_OUT_FIRST_SEED` phantoms,
which is why the evaluation seeds start elsewhere (no selection on the test set).
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
from torch import nn

from boneage.multistep.table import ReferenceTable
from boneage.phantom.reference_default import default_reference
from boneage.phantom.segment import load_unet
from boneage.training.evaluate import (
    LabelledImage,
    MultistepEvaluation,
    evaluate_multistep,
    phantom_case,
)
from boneage.training.reference_fit import Sample as MeasuredHand
from boneage.training.reference_fit import calibrate_interval_scales, fit_reference, measure_case
from boneage.training.regress_train import RegressTrainConfig, Sample, calibrate, evaluate, fit
from boneage.training.segment_train import TrainConfig, train_segmentation
from boneage.training.splits import (
    CALIBRATION_FIRST_SEED,
    EVALUATION_FIRST_SEED,
)

SEED_STRIDE = 1_000_000
"""Replicate ``r`` trains on phantoms from seed ``r * SEED_STRIDE``: disjoint sets per replicate."""

SEG_BATCH = TrainConfig.batch_size
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
    """Phantoms the U-Net picks its best epoch on (``TrainConfig.n_held_out``)."""
    device: str | None = None

    def steps_seg(self) -> int:
        return self.epochs_seg * _batches(max(self.sizes), SEG_BATCH, drop_last=False)

    def steps_cnn(self) -> int:
        return self.epochs_cnn * _batches(max(self.sizes), CNN_BATCH, drop_last=True)


@dataclass(frozen=True)
class Row:
    """One method at one size and replicate; ``seconds`` is its wall time including the U-Net
    training that both multi-step rows share."""

    method: str
    n_train: int
    seed: int
    mae_months: float
    coverage_90: float
    n_held_out: int
    n_rejected: int
    epochs: int
    steps: int
    seconds: float
    spacing_mode: str
    reference: str


COLUMNS = tuple(f.name for f in fields(Row))


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
                TrainConfig(n_train=n, epochs=epochs, seed=first, n_held_out=config.n_selection),
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
    (:func:`boneage.training.demo.fitted_reference`)."""
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


def _calibrated(table: ReferenceTable, samples: Sequence[MeasuredHand]) -> ReferenceTable:
    return replace(table, interval_scales=calibrate_interval_scales(table, samples))


def write_table(
    rows: Sequence[Row], config: object, out_dir: Path, *, dataset: str, method: str = ""
) -> None:
    """``learning_curve.csv`` (one row per method, size and replicate) and ``learning_curve.json``
    (the same rows with the settings that produced them)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "learning_curve.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(asdict(row) for row in rows)
    settings = asdict(config) | {"dataset": dataset, "multistep_spacing_mode": "ratios"}
    if isinstance(config, CurveConfig):
        settings |= {
            "steps_seg": config.steps_seg(),
            "steps_cnn": config.steps_cnn(),
            "evaluation_first_seed": EVALUATION_FIRST_SEED,
            "calibration_first_seed": CALIBRATION_FIRST_SEED,
            "seed_stride": SEED_STRIDE,
        }
    payload = {
        "settings": settings,
        "rows": [_json_safe(asdict(row)) for row in rows],
        "method": method or __doc__,
    }
    (out_dir / "learning_curve.json").write_text(json.dumps(payload, indent=2) + "\n")


def _json_safe(row: dict) -> dict:
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}


CARD_METHODS = {"multistep-fitted": "multistep", "cnn": "endtoend"}
"""Curve rows that stand for the shipped methods, by the method key of the assessment: the demo
multi-step path reads a table fitted to its own U-Net
(:func:`boneage.training.demo.fitted_reference`)."""


def read_table(path: Path) -> list[Row]:
    """The rows of a ``learning_curve.json`` written by :func:`write_table`."""
    raw = json.loads(Path(path).read_text())
    return [
        Row(**{k: float("nan") if v is None else v for k, v in row.items()}) for row in raw["rows"]
    ]


def card_points(rows: Sequence[Row], *, source: str) -> list[dict]:
    """The curve as model cards carry it (:attr:`boneage.modelcard.ModelCard.learning_curve`):
    per shipped method and training size, the mean held-out MAE over the replicates that gave
    one, its range, and the rejections; ``method`` is the assessment's key ("multistep" or
    "endtoend"), which the confidence notes look up (:mod:`boneage.report.notes`)."""
    points = []
    for variant, method in CARD_METHODS.items():
        for n in sorted({r.n_train for r in rows if r.method == variant}):
            own = [r for r in rows if r.method == variant and r.n_train == n]
            maes = [r.mae_months for r in own if math.isfinite(r.mae_months)]
            points.append(
                {
                    "method": method,
                    "variant": variant,
                    "n_train": n,
                    "mae_months": round(float(np.mean(maes)), 1) if maes else None,
                    "mae_months_range": [round(min(maes), 1), round(max(maes), 1)]
                    if maes
                    else None,
                    "replicates": len(own),
                    "rejected": sum(r.n_rejected for r in own),
                    "held_out": sum(r.n_held_out for r in own),
                    "source": source,
                }
            )
    return points


def plot(
    rows: Sequence[Row], path: Path, *, title: str, xlabel: str = "training phantoms (log scale)"
) -> None:
    """MAE against training size (log x): per method the mean over replicates, with the min-max
    band across replicates; rejection counts of the multi-step rows are written beside points,
    and at the foot of the axes (in the method's colour) where every case was rejected."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    styles = {"mean-age": {"linestyle": "--", "color": "grey"}}
    for index, method in enumerate(dict.fromkeys(r.method for r in rows)):
        own = [r for r in rows if r.method == method]
        sizes = sorted({r.n_train for r in own})
        values = [[r.mae_months for r in own if r.n_train == n] for n in sizes]
        mean = [np.nanmean(v) if np.isfinite(v).any() else np.nan for v in values]
        low = [np.nanmin(v) if np.isfinite(v).any() else np.nan for v in values]
        high = [np.nanmax(v) if np.isfinite(v).any() else np.nan for v in values]
        (line,) = axes.plot(sizes, mean, marker="o", label=method, **styles.get(method, {}))
        axes.fill_between(sizes, low, high, color=line.get_color(), alpha=0.15)
        for n, m in zip(sizes, mean, strict=True):
            rejected = sum(r.n_rejected for r in own if r.n_train == n)
            total = sum(r.n_held_out for r in own if r.n_train == n)
            if not rejected:
                continue
            if np.isfinite(m):
                axes.annotate(
                    f"{rejected}/{total} rej.",
                    (n, m),
                    fontsize=7,
                    color=line.get_color(),
                    textcoords="offset points",
                    xytext=(4, 4),
                )
            else:
                axes.annotate(
                    f"all {total} rej.",
                    (n, 0.02 + 0.05 * index),
                    xycoords=axes.get_xaxis_transform(),
                    fontsize=7,
                    color=line.get_color(),
                )
    every_size = sorted({r.n_train for r in rows})
    axes.set_xscale("log")
    axes.set_xlim(every_size[0] / 1.25, every_size[-1] * 1.25)
    axes.set_xticks(every_size, [str(n) for n in every_size])
    axes.minorticks_off()
    axes.set_xlabel(xlabel)
    axes.set_ylabel("held-out MAE (months)")
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


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

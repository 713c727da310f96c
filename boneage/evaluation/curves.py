"""Learning curves: held-out error against training-set size, as rows, files, card points and a
plot.

The phantom curve (:mod:`boneage.phantom.learning_curve`) and the curve on real films
(:mod:`boneage.evaluation.real_curve`) write the same rows (:class:`Row`), so one reader, one
plot and one conversion to the points a model card carries serve both.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np


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


def write_table(
    rows: Sequence[Row],
    config: object,
    out_dir: Path,
    *,
    dataset: str,
    method: str,
    settings: dict[str, object] | None = None,
) -> None:
    """``learning_curve.csv`` (one row per method, size and replicate) and ``learning_curve.json``
    (the same rows with the settings that produced them: the fields of the dataclass ``config``
    and ``settings``); ``method`` says in words how the curve was measured."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "learning_curve.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(asdict(row) for row in rows)
    payload = {
        "settings": asdict(config)
        | {"dataset": dataset, "multistep_spacing_mode": "ratios"}
        | (settings or {}),
        "rows": [_json_safe(asdict(row)) for row in rows],
        "method": method,
    }
    (out_dir / "learning_curve.json").write_text(json.dumps(payload, indent=2) + "\n")


def _json_safe(row: dict) -> dict:
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}


CARD_METHODS = {"multistep-fitted": "multistep", "cnn": "endtoend"}
"""Curve rows that stand for the shipped methods, by the method key of the assessment: the demo
multi-step path reads a table fitted to its own U-Net
(``boneage.phantom.demo.fitted_reference``)."""


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

"""Fit the reference table on real hands measured by the landmark U-Net, and score it on ``val``.

The same split as the end-to-end CNN (:func:`boneage.training.common.splits.real_splits`): the
table's curves are fitted on ``train`` minus a calibration slice, its temperature on half of those
hands against the other half (:func:`boneage.training.reference.fit.fit_reference`), its
interval widened split-conformally on the calibration slice, and every figure is taken on
``val``. Hands the multi-step path rejects (:func:`boneage.multistep.run.hand_rejection_reason`)
are left out of the fit, as at inference, and counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from boneage.endtoend.cnn import Framing
from boneage.errors import InputError
from boneage.modelcard import HeldOut, ModelCard, TrainingData
from boneage.multistep.estimator import estimate_age
from boneage.multistep.landmarks import load_landmark_net
from boneage.multistep.table import ReferenceTable
from boneage.registry import LANDMARK_NETWORK, load_card
from boneage.report.age_bands import band_errors, metric_key
from boneage.training.cnn.poses import load_or_build_poses
from boneage.training.cnn.run import FRAMING_WORDS
from boneage.training.common.cards import describe_file
from boneage.training.common.datasets.rsna import RSNA_TERMS
from boneage.training.common.image_cache import ImageCache
from boneage.training.common.splits import real_splits
from boneage.training.reference.fit import calibrate_interval_scales, fit_reference
from boneage.training.reference.hands import (
    MeasuredHand,
    load_measured,
    measure_cache,
    save_measured,
)


@dataclass(frozen=True)
class RealFit:
    """A table fitted on real hands and its figures on ``val``."""

    table: ReferenceTable
    n_fitted: int
    n_unreadable_train: int
    n_val: int
    metrics: dict[str, float]
    rejections: dict[str, int]


def score(table: ReferenceTable, hands: list[MeasuredHand]) -> tuple[dict[str, float], Counter]:
    """Answered share, MAE, RMSE, bias, coverage, median width and MAE by age band on ``hands``,
    and the rejections by reason."""
    rejections: Counter = Counter()
    truth, predicted, inside, widths = [], [], [], []
    for hand in hands:
        reason = hand.rejection
        if reason is not None:
            rejections[reason.split(":")[0].split(" (")[0]] += 1
            continue
        estimate = estimate_age(table, hand.sample.measurements, hand.sample.sex, "ratios")
        low, high = estimate.interval_months
        truth.append(hand.sample.age_months)
        predicted.append(estimate.age_months)
        inside.append(low <= hand.sample.age_months <= high)
        widths.append(high - low)
    truth_a, predicted_a = np.array(truth), np.array(predicted)
    error = predicted_a - truth_a
    metrics = {
        "answered": round(len(truth) / max(1, len(hands)), 4),
        "mae_months": round(float(np.mean(np.abs(error))), 2),
        "rmse_months": round(float(np.sqrt(np.mean(error**2))), 2),
        "bias_months": round(float(np.mean(error)), 2),
        "coverage_90": round(float(np.mean(inside)), 3),
        "median_interval_width_months": round(float(np.median(widths)), 1),
        **{metric_key(k): round(v, 2) for k, v in band_errors(truth_a, predicted_a).items()},
    }
    return metrics, rejections


def fit_real_reference(
    hands: list[MeasuredHand],
    *,
    name: str,
    version: str,
    source: str,
    n_calibration: int = 600,
    seed: int = 0,
    n_train: int | None = None,
) -> RealFit:
    """Fit on the readable ``train`` hands (a seeded subset of ``n_train`` of them, when given),
    calibrate on the calibration slice, score on ``val``."""
    splits = real_splits(
        np.array([h.split for h in hands]), n_calibration=n_calibration, seed=seed, n_train=n_train
    )
    fitted = [hands[i] for i in splits.train if hands[i].rejection is None]
    calibration = [hands[i].sample for i in splits.calibration if hands[i].rejection is None]
    table = fit_reference(
        [h.sample for h in fitted], name=name, version=version, source=source, maturity_score=True
    )
    table = replace(table, interval_scales=calibrate_interval_scales(table, calibration))
    val = [hands[i] for i in splits.val]
    metrics, rejections = score(table, [h for h in val if not h.unposed])
    if any(h.unposed for h in hands):
        metrics["val_without_pose"] = float(sum(h.unposed for h in val))
    return RealFit(
        table=table,
        n_fitted=len(fitted),
        n_unreadable_train=len(splits.train) - len(fitted),
        n_val=len(splits.val),
        metrics=metrics,
        rejections=dict(rejections),
    )


def measured_hands(
    cache_path: Path, model_folder: Path, hands_path: Path, framing: Framing = "field"
) -> list[MeasuredHand]:
    """The cached films measured by the landmark U-Net of ``model_folder``, on the whole film or
    in the canonical crop (the poses that U-Net finds, kept beside the cache as the canonical
    CNN keeps them); kept in ``hands_path`` and read back from there when it exists (delete it
    after retraining)."""
    if hands_path.is_file():
        return load_measured(hands_path)
    card, weights = load_card(model_folder)
    if card.settings.get("network") != LANDMARK_NETWORK:
        raise InputError(f"{model_folder} holds no landmark U-Net (boneage train landmarks)")
    network, _ = load_landmark_net(weights)
    cache = ImageCache.load(cache_path)
    poses = load_or_build_poses(cache_path, cache, network) if framing == "canonical" else None
    hands = measure_cache(cache, network, poses=poses)
    save_measured(hands, hands_path)
    return hands


def describe_real_reference(
    fit: RealFit, path: Path, *, segmentation: str, framing: Framing = "field"
) -> ModelCard:
    """The card of a table fitted by :func:`fit_real_reference` and saved at ``path``; its
    ``settings["framing"]`` says where the runtime must measure for it."""
    metrics = dict(fit.metrics)
    metrics |= {f"rejected/{reason}": float(n) for reason, n in fit.rejections.items()}
    where = FRAMING_WORDS[framing]
    return describe_file(
        path,
        name=fit.table.name,
        version=fit.table.version,
        kind="reference",
        architecture="sex-specific Gaussian-likelihood age lookup over a 0-228 month grid "
        "(boneage.multistep.table) of bone-length ratios, epiphysis and carpal shares of their "
        f"joint regions, and centre presence, measured by {segmentation} on the {where}",
        parameter_count=fit.table.parameter_count,
        training_data=TrainingData(
            kind="rsna-2017-train",
            size=fit.n_fitted,
            description=f"{RSNA_TERMS}. Fitted on {fit.n_fitted} hands of the fixed train split "
            f"as {segmentation} measured them on the {where} ({fit.n_unreadable_train} it could "
            "not read or place left out); interval calibrated on a separate slice of train; no "
            "pixel spacing, ratios only.",
        ),
        held_out=HeldOut(
            kind="rsna-2017-val",
            size=fit.n_val,
            mae_months=metrics["mae_months"],
            coverage_90=metrics["coverage_90"],
            metrics=metrics,
        ),
        settings={
            "provenance": fit.table.provenance,
            "shared_fraction": fit.table.shared_fraction,
            "framing": framing,
        },
    )

"""Train, calibrate and measure the end-to-end CNN on a cached real dataset; write its card."""

from __future__ import annotations

import logging
from dataclasses import asdict, astuple, dataclass
from pathlib import Path

import numpy as np
from torch import nn

from boneage.endtoend.cnn import COVERAGE, Framing, Regressor, RegressorConfig, load_regressor
from boneage.modelcard import HeldOut, ModelCard, TrainingData
from boneage.registry import load_card
from boneage.report.age_bands import band_errors, metric_key
from boneage.training.cnn.poses import load_or_build_poses
from boneage.training.cnn.train import CNN_NETWORK, canonical_inputs, fit_canonical, fit_real
from boneage.training.common.cards import describe_file
from boneage.training.common.config import CNN_TRAINING, TrainConfig
from boneage.training.common.conformal import conformal_scale
from boneage.training.common.datasets.rsna import RSNA_TERMS
from boneage.training.common.image_cache import ImageCache, at_side
from boneage.training.common.splits import RealSplits, real_splits

log = logging.getLogger(__name__)

FRAMING_WORDS = {
    "field": "whole film",
    "canonical": "canonical hand crop from the landmark U-Net's palm landmarks",
    "hand": "phantom hand crop",
}

WEIGHTS_FILE = "cnn.pt"
CHECKPOINT_FILE = "checkpoint.pt"


def predict_cached(
    regressor: Regressor,
    images: np.ndarray,
    male: np.ndarray,
    matrices: np.ndarray | None = None,
):
    """Uncalibrated mean and SD (months) for cached uint8 squares, in batches; with
    ``matrices`` (canonical poses), for their canonical crops."""
    means, sds = [], []
    for start in range(0, len(images), 64):
        block = slice(start, start + 64)
        if matrices is None:
            inputs = images[block].astype(np.float32) / 255
        else:
            side = regressor.network.config.input_side
            inputs = canonical_inputs(images[block], matrices[block], side)[:, 0].numpy()
        mean, sd = regressor.predict_batch(inputs, male[block])
        means.append(mean)
        sds.append(sd)
    return np.concatenate(means), np.concatenate(sds)


@dataclass(frozen=True)
class RealData:
    """A cached dataset split for one CNN: with canonical poses, only the films that have one."""

    cache: ImageCache
    splits: RealSplits
    matrices: np.ndarray | None
    """Each cached film's canonical pose (film pixels from crop pixels), for a canonical CNN."""
    without_pose: int
    """``val`` films left out for want of a pose (the runtime reads them with the field CNN)."""

    def posed(self, indices: np.ndarray) -> np.ndarray | None:
        return None if self.matrices is None else self.matrices[indices]


def load_real_data(
    cache_path: Path,
    framing: Framing,
    *,
    n_calibration: int,
    split_seed: int,
    n_train: int | None = None,
    landmarks: nn.Module | None = None,
) -> RealData:
    """The cache, its splits and, for a ``"canonical"`` network, the poses that ``landmarks``
    (the landmark U-Net) finds, kept beside the cache."""
    cache = ImageCache.load(cache_path)
    splits = real_splits(cache.split, n_calibration=n_calibration, seed=split_seed, n_train=n_train)
    if framing != "canonical":
        return RealData(cache, splits, None, 0)
    if landmarks is None:
        raise ValueError("a canonical-crop CNN needs the landmark U-Net to find the poses")
    poses = load_or_build_poses(cache_path, cache, landmarks)
    without_pose = int((~poses.found[splits.val]).sum())
    splits = RealSplits(*(part[poses.found[part]] for part in astuple(splits)))
    return RealData(cache, splits, poses.matrices, without_pose)


def calibrate_and_measure(regressor: Regressor, data: RealData) -> HeldOut:
    """Set ``regressor``'s conformal scale on the calibration slice; its figures on ``val``."""
    cache, cal, val = data.cache, data.splits.calibration, data.splits.val
    mean, sd = predict_cached(regressor, cache.images[cal], cache.male[cal], data.posed(cal))
    regressor.interval_scale = conformal_scale(cache.age_months[cal] - mean, sd, COVERAGE)
    mean, sd = predict_cached(regressor, cache.images[val], cache.male[val], data.posed(val))
    truth = cache.age_months[val]
    inside = np.abs(truth - mean) <= regressor.interval_scale * sd
    bands = {metric_key(k): round(v, 2) for k, v in band_errors(truth, mean).items()}
    return HeldOut(
        kind="rsna-2017-val",
        size=len(val),
        mae_months=round(float(np.mean(np.abs(truth - mean))), 2),
        coverage_90=round(float(np.mean(inside)), 3),
        metrics={
            "interval_scale": round(regressor.interval_scale, 4),
            "calibration_size": float(len(cal)),
            "val_without_pose": float(data.without_pose),
            "rmse_months": round(float(np.sqrt(np.mean((truth - mean) ** 2))), 2),
            "bias_months": round(float(np.mean(mean - truth)), 2),
            "median_interval_width_months": round(
                float(np.median(2 * regressor.interval_scale * sd)), 1
            ),
            **bands,
        },
    )


def architecture_words(network: RegressorConfig, members: int = 1) -> str:
    """The card's ``architecture`` of a CNN (or of an ensemble of ``members`` of it)."""
    words = (
        f"timm {network.encoder} (1 channel, {network.input_side} px, "
        f"{FRAMING_WORDS[network.framing]}) + sex → Gaussian mean and variance"
    )
    if members > 1:
        words = f"ensemble of {members} × {words}, read as their equal mixture"
    return f"{words}, split-conformal 90 % interval"


@dataclass(frozen=True)
class StartingPoint:
    """A trained CNN that a run continues under a fresh one-cycle schedule (a warm restart):
    training longer than one sitting when the first run's optimiser state is gone."""

    card: ModelCard
    regressor: Regressor

    @property
    def epochs(self) -> float:
        return float(self.card.settings.get("epochs_total", self.card.settings["epochs"]))


def load_starting_point(
    folder: Path, network: RegressorConfig, *, split_seed: int, n_calibration: int
) -> StartingPoint:
    """The CNN in ``folder``, refused unless it is ``network`` and was trained without the
    calibration slice this run will calibrate on (same split seed and slice size, all of
    ``train``), so that the interval stays calibrated on films no weights have seen."""
    card, weights = load_card(folder)
    settings = card.settings
    trained_split = settings.get("split_seed", settings.get("seed"))
    if (trained_split, settings.get("n_calibration"), settings.get("n_train")) != (
        split_seed,
        n_calibration,
        None,
    ):
        raise ValueError(
            f"{card.ident} was trained with split seed {trained_split}, "
            f"{settings.get('n_calibration')} calibration films and n_train "
            f"{settings.get('n_train')}; continuing it needs the same split (split seed "
            f"{split_seed}, {n_calibration} calibration films, all of train)"
        )
    regressor = load_regressor(weights)
    if regressor.members != 1 or regressor.network.config != network:
        raise ValueError(f"{card.ident} is not a single {network} network")
    return StartingPoint(card, regressor)


def train_real_regression(
    cache_path: Path,
    out_dir: Path,
    config: TrainConfig = CNN_TRAINING,
    *,
    network: RegressorConfig = CNN_NETWORK,
    n_calibration: int = 600,
    n_train: int | None = None,
    name: str = "cnn-rsna",
    version: str = "1.0.0",
    resume: bool = False,
    device: str = "cpu",
    landmarks: nn.Module | None = None,
    split_seed: int | None = None,
    start_from: Path | None = None,
) -> ModelCard:
    """Train on ``train`` minus the calibration slice, calibrate, measure on ``val``, write the
    weights and the card into ``out_dir``. ``n_calibration`` films of ``train`` calibrate the
    interval and are never trained on; ``n_train`` trains on a random subset of the rest.
    ``split_seed`` draws that slice and subset (by default the training seed); members of one
    ensemble share it, so that the slice that calibrates the ensemble is unseen by every member.

    A ``"canonical"`` network reads canonical crops: the poses come from ``landmarks`` (the
    landmark U-Net) and are kept beside the cache; films without a pose are left out of
    training, calibration and the card's figures (the runtime reads them with the field CNN),
    and the card says how many.

    ``start_from`` (a CNN model folder) continues that network (:func:`load_starting_point`);
    the card counts its epochs with this run's."""
    out_dir.mkdir(parents=True, exist_ok=True)
    split_seed = config.seed if split_seed is None else split_seed
    start = None
    if start_from is not None:
        if n_train is not None:
            raise ValueError("continuing a trained CNN trains on all of train (no --n-train)")
        start = load_starting_point(
            start_from, network, split_seed=split_seed, n_calibration=n_calibration
        )
    data = load_real_data(
        cache_path,
        network.framing,
        n_calibration=n_calibration,
        split_seed=split_seed,
        n_train=n_train,
        landmarks=landmarks,
    )
    cache, train = data.cache, data.splits.train
    labels = (cache.male[train], cache.age_months[train])
    how = {
        "network": network,
        "checkpoint": out_dir / CHECKPOINT_FILE,
        "resume": resume,
        "initial": None if start is None else start.regressor.network.state_dict(),
    }
    if data.matrices is not None:
        regressor, record = fit_canonical(
            config, cache.images[train], data.matrices[train], *labels, **how, device=device
        )
    else:
        images = at_side(cache.images[train], network.input_side)
        regressor, record = fit_real(config, images, *labels, **how, device=device)
        del images
    held_out = calibrate_and_measure(regressor, data)
    before = 0.0 if start is None else start.epochs
    continued = (
        ""
        if start is None
        else f"continued from {start.card.ident} ({before:.1f} epochs) under a fresh schedule: "
    )
    weights = out_dir / WEIGHTS_FILE
    regressor.save(weights)
    card = describe_file(
        weights,
        name=name,
        version=version,
        kind="regression",
        architecture=architecture_words(network),
        parameter_count=sum(p.numel() for p in regressor.network.parameters()),
        training_data=TrainingData(
            kind="rsna-2017-train",
            size=len(train),
            description=f"{RSNA_TERMS}. {len(train)} images of the fixed train split "
            f"(the remaining {len(data.splits.calibration)} calibrate the interval); {continued}"
            f"trained {record.epochs:.1f} epochs ({record.steps} steps of {config.batch_size}, "
            f"seed {config.seed}) in {record.seconds / 60:.0f} min on 2 CPU threads.",
        ),
        held_out=held_out,
        settings={
            **asdict(config),
            **asdict(network),
            "n_calibration": n_calibration,
            "n_train": n_train,
            "split_seed": split_seed,
            "steps": record.steps,
            "epochs": round(record.epochs, 2),
            "wall_seconds": round(record.seconds),
            **(
                {}
                if start is None
                else {
                    "started_from": start.card.ident,
                    "epochs_total": round(before + record.epochs, 2),
                }
            ),
        },
    )
    card.save(out_dir / "card.json")
    log.info("trained %s: val MAE %.1f months", card.ident, card.held_out.mae_months)
    return card

"""Training, calibration and evaluation of the end-to-end CNN (:mod:`boneage.endtoend.cnn`).

Three disjoint sets: training cases, a calibration split (never trained on) that fixes the
interval multiplier by split conformal prediction, and a held-out test set on which the mean
absolute error and the empirical coverage of the 90 % interval are measured and written to the
model card. On phantoms the sets are disjoint seed ranges; the test seeds are the multi-step
path's held-out seeds (:data:`boneage.phantom.segment_train.HELD_OUT_FIRST_SEED`), so both paths
are measured on the same phantoms.

The same loop trains on a real dataset in the RSNA layout (CSV of id, age, sex and a folder of
``<id>.png``): :func:`folder_samples` reads it through :mod:`boneage.training.common.datasets`, and
each image goes through the same quality-free :func:`boneage.phantom.crop.preprocess` as a phantom.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from monai.data import DataLoader, Dataset
from monai.transforms import (
    Compose,
    RandAdjustContrastd,
    RandAffined,
    RandGaussianNoised,
    RandScaleIntensityd,
)

from boneage.endtoend.cnn import (
    COVERAGE,
    AgeRegressor,
    Regressor,
    RegressorConfig,
    normalise,
)
from boneage.modelcard import HeldOut, ModelCard, TrainingData
from boneage.phantom import generate_phantom
from boneage.phantom.crop import INPUT_SIZE, preprocess
from boneage.phantom.segment_train import PHANTOM_SIZE
from boneage.training.common.cards import describe_file
from boneage.training.common.conformal import conformal_scale
from boneage.training.common.splits import CALIBRATION_FIRST_SEED, HELD_OUT_FIRST_SEED

WEIGHTS_FILE = "cnn.pt"
CHECKPOINT_FILE = "checkpoint.pt"


@dataclass(frozen=True)
class Sample:
    """One preprocessed case: ``image`` float32 (S, S) 0..1, left hand; age in months."""

    image: np.ndarray
    male: float
    age_months: float


@dataclass(frozen=True)
class RegressTrainConfig:
    """One training run; stored in the resumable checkpoint and on the card."""

    data: str = "phantom"
    n_train: int = 300
    epochs: int = 30
    seed: int = 0
    n_calibration: int = 100
    n_held_out: int = 100
    batch_size: int = 16
    learning_rate: float = 2e-3
    name: str = "cnn"
    version: str = "1.0.0"
    encoder: str = RegressorConfig.encoder
    input_side: int = RegressorConfig.input_side


@dataclass(frozen=True)
class Evaluation:
    """Held-out accuracy: mean absolute error (months) and empirical 90 % interval coverage."""

    mae_months: float
    coverage_90: float
    size: int


def phantom_sample(seed: int) -> Sample:
    """The preprocessed phantom of ``seed``; a right hand is mirrored to a left one, as
    :mod:`boneage.quality.orientation` does at inference."""
    phantom = generate_phantom(seed, size=PHANTOM_SIZE)
    image = phantom.image[:, ::-1] if phantom.laterality == "R" else phantom.image
    return Sample(
        image=preprocess(image, size=INPUT_SIZE).image,
        male=1.0 if phantom.sex == "M" else 0.0,
        age_months=phantom.age_months,
    )


def phantom_splits(config: RegressTrainConfig) -> tuple[list[int], list[int], list[int]]:
    """Training, calibration and held-out seeds: three disjoint ranges."""
    train = list(range(config.seed, config.seed + config.n_train))
    if config.seed < 0 or train and train[-1] >= HELD_OUT_FIRST_SEED:
        raise ValueError(f"training seeds must lie in 0..{HELD_OUT_FIRST_SEED - 1}")
    calibration = list(range(CALIBRATION_FIRST_SEED, CALIBRATION_FIRST_SEED + config.n_calibration))
    held_out = list(range(HELD_OUT_FIRST_SEED, HELD_OUT_FIRST_SEED + config.n_held_out))
    return train, calibration, held_out


def folder_samples(directory: Path) -> list[Sample]:
    """Every case of an RSNA-layout dataset, preprocessed (see
    :mod:`boneage.training.common.datasets`)."""
    from boneage.training.common.datasets import RsnaDataset

    return [
        Sample(
            image=preprocess(case.pixels, size=INPUT_SIZE).image,
            male=1.0 if case.sex == "M" else 0.0,
            age_months=float(case.age_months),
        )
        for case in RsnaDataset(directory)
    ]


def augmentation(seed: int) -> Compose:
    """Small pose, exposure and noise changes; no mirroring (every input is a left hand)."""
    transforms = Compose(
        [
            RandAffined(
                "image",
                prob=0.7,
                rotate_range=0.17,
                scale_range=0.08,
                translate_range=(10, 10),
                padding_mode="zeros",
            ),
            RandScaleIntensityd("image", factors=0.1, prob=0.5),
            RandAdjustContrastd("image", prob=0.3, gamma=(0.8, 1.25)),
            RandGaussianNoised("image", prob=0.3, std=0.02),
        ]
    )
    transforms.set_random_state(seed=seed)
    return transforms


def _as_dicts(samples: Sequence[Sample]) -> list[dict[str, np.ndarray]]:
    return [
        {
            "image": s.image[None].astype(np.float32),
            "male": np.float32(s.male),
            "target": np.float32(normalise(s.age_months)),
        }
        for s in samples
    ]


def _predict(regressor: Regressor, samples: Sequence[Sample]) -> tuple[np.ndarray, np.ndarray]:
    means, sds = [], []
    for start in range(0, len(samples), 32):
        chunk = samples[start : start + 32]
        mean, sd = regressor.predict_batch(
            np.stack([s.image for s in chunk]), np.array([s.male for s in chunk])
        )
        means.append(mean)
        sds.append(sd)
    return np.concatenate(means), np.concatenate(sds)


def calibrate(regressor: Regressor, calibration: Sequence[Sample]) -> None:
    """Set the interval multiplier from the calibration cases (split conformal)."""
    mean, sd = _predict(regressor, calibration)
    truth = np.array([s.age_months for s in calibration])
    regressor.interval_scale = conformal_scale(truth - mean, sd, COVERAGE)


def evaluate(regressor: Regressor, held_out: Sequence[Sample]) -> Evaluation:
    """MAE and the share of held-out ages inside the calibrated 90 % interval."""
    mean, sd = _predict(regressor, held_out)
    truth = np.array([s.age_months for s in held_out])
    inside = np.abs(truth - mean) <= regressor.interval_scale * sd
    return Evaluation(
        mae_months=float(np.mean(np.abs(truth - mean))),
        coverage_90=float(np.mean(inside)),
        size=len(held_out),
    )


def _device(device: str | None) -> torch.device:
    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


def fit(
    config: RegressTrainConfig,
    train: Sequence[Sample],
    *,
    device: str | None = None,
    checkpoint: Path | None = None,
    resume: bool = False,
    progress: Callable[[Iterable], Iterable] = lambda batches: batches,
) -> Regressor:
    """Train a network on ``train`` (Gaussian negative log-likelihood, AdamW, cosine schedule).

    With ``checkpoint`` the full state is saved after every epoch; with ``resume`` training
    continues from it. The returned regressor is not yet calibrated (multiplier 1.645).
    """
    torch_device = _device(device)
    torch.manual_seed(config.seed)
    network = AgeRegressor(RegressorConfig(encoder=config.encoder, input_side=config.input_side))
    network.to(torch_device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=config.learning_rate,
        total_steps=max(1, config.epochs * -(-len(train) // config.batch_size)),
    )
    start_epoch = 0
    if resume and checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location=torch_device, weights_only=False)
        network.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch = state["epoch"] + 1
        torch.set_rng_state(state["rng"])
    loader = DataLoader(
        Dataset(_as_dicts(train), augmentation(config.seed + start_epoch)),
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=len(train) > config.batch_size,
    )
    loss_function = torch.nn.GaussianNLLLoss()
    for epoch in range(start_epoch, config.epochs):
        network.train()
        for batch in progress(loader):
            mean, log_var = network(batch["image"].to(torch_device), batch["male"].to(torch_device))
            loss = loss_function(mean, batch["target"].to(torch_device), log_var.exp())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        if checkpoint is not None:
            torch.save(
                {
                    "model": network.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "epoch": epoch,
                    "config": asdict(config),
                    "rng": torch.get_rng_state(),
                },
                checkpoint,
            )
    return Regressor(network=network, interval_scale=1.645, device=str(torch_device))


def train_regression(
    config: RegressTrainConfig,
    out_dir: Path,
    *,
    resume: bool = False,
    device: str | None = None,
    progress: Callable[[Iterable], Iterable] = lambda batches: batches,
) -> ModelCard:
    """Train, calibrate, evaluate, and write ``cnn.pt`` and ``card.json`` into ``out_dir``.

    ``config.data`` is ``"phantom"`` or the folder of an RSNA-layout dataset; a real dataset is
    split 70/15/15 into training, calibration and held-out cases by a seeded permutation.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if config.data == "phantom":
        train_seeds, calibration_seeds, held_out_seeds = phantom_splits(config)
        train = [phantom_sample(s) for s in train_seeds]
        calibration = [phantom_sample(s) for s in calibration_seeds]
        held_out = [phantom_sample(s) for s in held_out_seeds]
        data = TrainingData(
            kind="phantom",
            size=len(train),
            seeds=tuple(train_seeds),
            description=f"boneage.phantom seeds {train_seeds[0]}-{train_seeds[-1]}, "
            f"{PHANTOM_SIZE} px, right hands mirrored, preprocessed with boneage.framing.field",
        )
    else:
        cases = folder_samples(Path(config.data))
        order = np.random.default_rng(config.seed).permutation(len(cases))
        n_cal, n_test = round(0.15 * len(cases)), round(0.15 * len(cases))
        held_out = [cases[i] for i in order[:n_test]]
        calibration = [cases[i] for i in order[n_test : n_test + n_cal]]
        train = [cases[i] for i in order[n_test + n_cal :]][: config.n_train]
        data = TrainingData(kind=Path(config.data).name, size=len(train), description=config.data)
    regressor = fit(
        config,
        train,
        device=device,
        checkpoint=out_dir / CHECKPOINT_FILE,
        resume=resume,
        progress=progress,
    )
    calibrate(regressor, calibration)
    result = evaluate(regressor, held_out)
    weights = out_dir / WEIGHTS_FILE
    regressor.save(weights)
    card = describe_file(
        weights,
        name=config.name,
        version=config.version,
        kind="regression",
        architecture=f"timm {config.encoder} (1 channel, {config.input_side} px) + sex → "
        "Gaussian mean and variance, split-conformal 90 % interval",
        parameter_count=sum(p.numel() for p in regressor.network.parameters()),
        training_data=data,
        held_out=HeldOut(
            kind="phantom" if config.data == "phantom" else data.kind,
            size=result.size,
            mae_months=round(result.mae_months, 2),
            coverage_90=round(result.coverage_90, 3),
            metrics={
                "interval_scale": round(regressor.interval_scale, 4),
                "calibration_size": float(len(calibration)),
            },
        ),
        settings=asdict(config),
    )
    card.save(out_dir / "card.json")
    return card

"""Training the bone-segmentation U-Net on phantoms: MONAI loss, metric and augmentation.

Each training phantom is generated from its seed
(:func:`boneage.phantom.generate_phantom`), run
through the shared :func:`boneage.phantom.crop.preprocess`, and its label mask cut and resized the
same way (:func:`boneage.framing.field.crop_labels`), so the U-Net sees exactly what inference sees.
MONAI dictionary transforms augment image and mask together; the loss is ``DiceCELoss`` (Dice
for the small centres that cross-entropy would let vanish under the background, cross-entropy
for stable early gradients); ``DiceMetric`` measures every bone on held-out phantoms.

Seeds: training uses ``seed .. seed + n_train - 1``; held-out phantoms use seeds from
:data:`HELD_OUT_FIRST_SEED` on, which training never reaches, so held-out Dice is measured on
hands the model has never seen.

Files in the output folder: ``checkpoint.pt`` (model, optimizer, epoch, config, RNG; resumable),
``unet.pt`` (the best epoch's fp16 weights, see :func:`boneage.segment.save_unet`) and
``card.json`` (its :class:`~boneage.modelcard.ModelCard` with per-bone held-out Dice).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from monai.data import DataLoader, Dataset
from monai.losses import DiceCELoss
from monai.metrics import DiceMetric
from monai.networks.utils import one_hot
from monai.transforms import (
    Compose,
    RandAdjustContrastd,
    RandAffined,
    RandFlipd,
    RandGaussianNoised,
    RandScaleIntensityd,
)

from boneage.modelcard import HeldOut, ModelCard, TrainingData
from boneage.phantom import generate_phantom
from boneage.phantom.anatomy import BY_LABEL, NUM_CLASSES
from boneage.phantom.crop import crop_labels, preprocess
from boneage.phantom.segment import UNetConfig, build_unet, parameter_count, save_unet, segment
from boneage.training.common.cards import describe_file
from boneage.training.common.splits import HELD_OUT_FIRST_SEED

PHANTOM_SIZE = 512
"""Side (pixels) of the generated phantoms before preprocessing (the phantom default)."""


@dataclass(frozen=True)
class SegmentTrainConfig:
    """One training run; stored in the checkpoint and the model card."""

    n_train: int
    epochs: int
    seed: int = 0
    n_held_out: int = 24
    batch_size: int = 8
    learning_rate: float = 3e-3
    name: str = "unet"
    version: str = "1.0.0"
    unet: UNetConfig = field(default_factory=UNetConfig)

    def training_seeds(self) -> list[int]:
        if self.seed < 0 or self.seed + self.n_train > HELD_OUT_FIRST_SEED:
            raise ValueError(f"training seeds must lie in 0..{HELD_OUT_FIRST_SEED - 1}")
        return list(range(self.seed, self.seed + self.n_train))

    def held_out_seeds(self) -> list[int]:
        return list(range(HELD_OUT_FIRST_SEED, HELD_OUT_FIRST_SEED + self.n_held_out))

    @classmethod
    def from_dict(cls, raw: dict) -> SegmentTrainConfig:
        return cls(**{**raw, "unet": UNetConfig.from_dict(raw["unet"])})


def phantom_sample(seed: int, size: int) -> dict[str, np.ndarray]:
    """The preprocessed phantom of ``seed`` as MONAI channel-first arrays: ``image`` float32 and
    ``label`` (label ids as float32, which MONAI's spatial transforms expect), both (1, S, S)."""
    phantom = generate_phantom(seed, size=PHANTOM_SIZE)
    prepared = preprocess(phantom.image, size=size)
    labels = crop_labels(phantom.labels, prepared)
    return {"image": prepared.image[None], "label": labels[None].astype(np.float32)}


BONE_WEIGHT = 10.0
"""Cross-entropy weight of every bone class against 1 for background.

Bones cover about 9 % of a preprocessed hand, split over 50 classes. With unweighted
Dice-CE the network collapses to all-background within the first few dozen steps and stays
there for hundreds (measured on CPU: loss plateau at 1.35, no foreground pixel predicted after
60 steps); weighting the bones 10:1 and computing Dice over the whole batch (``batch=True``,
so a class absent from one image does not count as a perfect score) starts predicting bones
within 30 steps."""


def class_weights(device: torch.device) -> torch.Tensor:
    """Cross-entropy class weights: 1 for background, :data:`BONE_WEIGHT` for each bone."""
    weights = torch.full((NUM_CLASSES,), BONE_WEIGHT, device=device)
    weights[0] = 1.0
    return weights


def augmentation() -> Compose:
    """Random pose, mirror, exposure and noise, applied to image and mask together (the mask
    with nearest-neighbour interpolation so labels stay labels)."""
    keys = ["image", "label"]
    return Compose(
        [
            RandAffined(
                keys,
                prob=0.7,
                rotate_range=0.35,
                scale_range=0.12,
                translate_range=(16, 16),
                mode=("bilinear", "nearest"),
                padding_mode="border",
            ),
            RandFlipd(keys, prob=0.5, spatial_axis=1),
            RandScaleIntensityd("image", factors=0.15, prob=0.5),
            RandAdjustContrastd("image", prob=0.3, gamma=(0.7, 1.5)),
            RandGaussianNoised("image", prob=0.3, std=0.03),
        ]
    )


def held_out_dice(
    model: torch.nn.Module, samples: Iterable[dict[str, np.ndarray]]
) -> dict[str, float]:
    """Per-bone Dice of ``model`` on ``samples``, averaged over the samples where that bone is in
    the true mask (bones absent from every sample are left out), plus ``mean`` over bones."""
    metric = DiceMetric(include_background=False, reduction="mean_batch", ignore_empty=True)
    for sample in samples:
        predicted = torch.from_numpy(segment(model, sample["image"][0]).astype(np.int64))
        truth = torch.from_numpy(sample["label"][0].astype(np.int64))
        metric(one_hot(predicted[None, None], NUM_CLASSES), one_hot(truth[None, None], NUM_CLASSES))
    per_class = metric.aggregate().cpu().numpy()
    dice = {
        BY_LABEL[label].name: float(value)
        for label, value in enumerate(per_class, start=1)
        if np.isfinite(value)
    }
    dice["mean"] = float(np.mean(list(dice.values()))) if dice else float("nan")
    return dice


def _card(
    config: SegmentTrainConfig, model: torch.nn.Module, weights: Path, dice: dict[str, float]
):
    encoder, decoder = config.unet.encoder, "-".join(map(str, config.unet.decoder_channels))
    seeds = config.training_seeds()
    return describe_file(
        weights,
        name=config.name,
        version=config.version,
        kind="segmentation",
        architecture=f"smp.Unet({encoder}, decoder {decoder}, {config.unet.size} px, "
        f"{config.unet.num_classes} classes)",
        parameter_count=parameter_count(model),
        training_data=TrainingData(
            kind="phantom",
            size=config.n_train,
            seeds=tuple(seeds),
            description=f"boneage.phantom seeds {seeds[0]}-{seeds[-1]}, "
            f"{PHANTOM_SIZE} px, "
            "preprocessed with boneage.framing.field",
        ),
        held_out=HeldOut(
            kind="phantom",
            size=config.n_held_out,
            metrics={f"dice/{bone}": value for bone, value in dice.items()},
        ),
        settings=asdict(config),
    )


def train_segmentation(
    config: SegmentTrainConfig,
    out_dir: Path,
    *,
    resume: bool = False,
    device: str | None = None,
    progress: Callable[[Iterable], Iterable] = lambda batches: batches,
) -> ModelCard:
    """Train (or, with ``resume``, continue from ``out_dir/checkpoint.pt``) and return the card
    of the best epoch (highest held-out mean Dice). On resume the checkpoint's settings win except
    ``epochs``, which may be raised to train longer (the cosine schedule stretches to it).
    ``progress`` wraps the batch iterator (the
    CLI passes a tqdm bar); ``device`` defaults to CUDA when available."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out_dir / "checkpoint.pt"
    state = torch.load(checkpoint_path, weights_only=False) if resume else None
    if state is not None:
        config = replace(SegmentTrainConfig.from_dict(state["config"]), epochs=config.epochs)
    torch.manual_seed(config.seed)
    model = build_unet(config.unet).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, config.epochs))
    start_epoch, best = 0, -1.0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scheduler.T_max = max(1, config.epochs)
        start_epoch, best = state["epoch"] + 1, state["best_dice"]
        torch.set_rng_state(state["rng"])

    size = config.unet.size
    train_samples = [phantom_sample(seed, size) for seed in config.training_seeds()]
    held_out = [phantom_sample(seed, size) for seed in config.held_out_seeds()]
    transforms = augmentation()
    transforms.set_random_state(seed=config.seed)
    loader = DataLoader(
        Dataset(train_samples, transforms), batch_size=config.batch_size, shuffle=True
    )
    loss_function = DiceCELoss(
        to_onehot_y=True, softmax=True, batch=True, weight=class_weights(device)
    )
    card = ModelCard.load(out_dir / "card.json") if (out_dir / "card.json").exists() else None
    for epoch in range(start_epoch, config.epochs):
        model.train()
        for batch in progress(loader):
            logits = model(batch["image"].to(device))
            loss = loss_function(logits, batch["label"].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
        dice = held_out_dice(model, held_out)
        if dice["mean"] > best:
            best = dice["mean"]
            save_unet(model, config.unet, out_dir / "unet.pt")
            card = _card(config, model, out_dir / "unet.pt", dice)
            card.save(out_dir / "card.json")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "epoch": epoch,
                "config": asdict(config),
                "best_dice": best,
                "rng": torch.get_rng_state(),
            },
            checkpoint_path,
        )
    if card is None:
        raise ValueError("no epoch was trained: epochs must exceed the resumed epoch")
    return card

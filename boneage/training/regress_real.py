"""Train the end-to-end CNN on real radiographs from an :class:`ImageCache`, on a time budget.

Why it looks like this (figures measured on this project's 2-core CPU, batch 32):

* **Network.** timm ``resnet10t`` (4.9 M parameters, 9.8 MB in float16) at 192 px trains at
  17 ms per image and step under bfloat16 autocast with ``channels_last``, about as fast as
  MobileNetV3-large at 160 px (18 ms) and four times faster than ResNet-18 in float32. Plain
  residual blocks train reliably from random initialisation.
* **Time-driven one-cycle schedule** with resumable checkpoints (:mod:`boneage.training.budget`).
  The card records the steps and epochs actually done.
* **Loss.** Smooth-L1 on the standardised age trains the mean; a Gaussian negative
  log-likelihood on the detached mean trains the log variance, so the variance head cannot slow
  the mean down. The interval is then calibrated split-conformally on a calibration slice of
  ``train`` that the network never sees.
* **Augmentation** for what uploads vary in and the cached squares do not show: rotation,
  scale, aspect ratio (the RSNA copies are squashed to a square; uploads keep their shape),
  shift, mirroring, contrast, gamma and noise. Padding bars are trimmed at inference
  (:func:`boneage.framing.field.trim_bars`), so they need no augmentation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from boneage.endtoend.cnn import AgeRegressor, Regressor, RegressorConfig, normalise
from boneage.training.budget import TrainingRecord, train_on_budget


@dataclass(frozen=True)
class RealTrainConfig:
    """One training run on a cached real dataset; stored in the checkpoint and on the card."""

    budget_minutes: float = 75.0
    max_epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    n_calibration: int = 600
    n_train: int | None = None
    encoder: str = "resnet10t"
    input_side: int = 192
    bfloat16: bool = True
    mirror_average: bool = True
    """Average the readings of each film and its mirror image at inference (it trains mirrored)."""


def at_side(images: np.ndarray, side: int) -> torch.Tensor:
    """uint8 squares (N, S, S) → float32 (N, 1, side, side) in 0..1, area-resized as the network
    resizes its input (:class:`AgeRegressor`), in chunks to bound memory."""
    chunks = []
    for start in range(0, len(images), 512):
        block = torch.from_numpy(images[start : start + 512]).float().div_(255)[:, None]
        if block.shape[-1] != side:
            block = F.interpolate(block, size=(side, side), mode="area")
        chunks.append(block)
    return torch.cat(chunks)


def random_pose(batch: int, generator: torch.Generator) -> torch.Tensor:
    """Random rotation (±25°), scale, aspect ratio, shift and, for half the batch, mirroring, as
    ``affine_grid`` matrices (B, 2, 3) mapping output to input coordinates.

    Mirrored films are kept: networks read films in their acquired side, and a right hand
    matures as the left does."""

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(batch, generator=generator) * (high - low) + low

    angle = uniform(-25, 25) * math.pi / 180
    scale = uniform(0.85, 1.15)
    squeeze = uniform(0.75, 1.15)
    on_rows = torch.rand(batch, generator=generator) < 0.5
    sx = scale * torch.where(on_rows, torch.ones(batch), squeeze)
    sy = scale * torch.where(on_rows, squeeze, torch.ones(batch))
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [
            torch.stack([cos / sx, -sin / sx, uniform(-0.08, 0.08)], 1),
            torch.stack([sin / sy, cos / sy, uniform(-0.08, 0.08)], 1),
        ],
        1,
    )
    mirror = torch.rand(batch, generator=generator) < 0.5
    theta[:, 0, :2] = torch.where(mirror[:, None], -theta[:, 0, :2], theta[:, 0, :2])
    return theta


def photometric(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random gamma, contrast, brightness and noise for a batch (B, 1, S, S) in 0..1."""
    batch = images.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return (torch.rand(batch, generator=generator) * (high - low) + low)[:, None, None, None]

    gamma = torch.exp(torch.randn(batch, generator=generator) * 0.25)[:, None, None, None]
    out = images.clamp(0, 1) ** gamma
    out = out * uniform(0.8, 1.2) + uniform(-0.08, 0.08)
    out = out + uniform(0.0, 0.03) * torch.randn(out.shape, generator=generator)
    return out.clamp(0, 1)


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random pose (:func:`random_pose`), then exposure and noise (:func:`photometric`), for a
    batch (B, 1, S, S) in 0..1."""
    theta = random_pose(images.shape[0], generator)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return photometric(out, generator)


def fit_real(
    config: RealTrainConfig,
    images: torch.Tensor,
    male: np.ndarray,
    age_months: np.ndarray,
    *,
    checkpoint: Path,
    resume: bool = False,
    device: str = "cpu",
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Regressor, TrainingRecord]:
    """Train until the time budget is spent (or ``max_epochs``); checkpoints let it resume."""
    torch.manual_seed(config.seed)
    network = AgeRegressor(
        RegressorConfig(
            encoder=config.encoder,
            input_side=config.input_side,
            framing="field",
            mirror_average=config.mirror_average,
        )
    ).to(device, memory_format=torch.channels_last)
    targets = torch.as_tensor(normalise(np.asarray(age_months, np.float32)))
    sexes = torch.as_tensor(np.asarray(male, np.float32))

    def batch_loss(index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        batch = augment(images[index], generator).to(device)
        batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bfloat16):
            mean, log_var = network(batch, sexes[index].to(device))
        mean, log_var = mean.float(), log_var.float()
        target = targets[index].to(device)
        return F.smooth_l1_loss(mean, target, beta=0.1) + F.gaussian_nll_loss(
            mean.detach(), target, log_var.exp()
        )

    record = train_on_budget(
        network,
        batch_loss,
        n_items=len(images),
        config=config,
        checkpoint=checkpoint,
        resume=resume,
        clock=clock,
    )
    return Regressor(network=network, interval_scale=1.645, device=device), record

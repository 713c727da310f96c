"""Train the end-to-end CNN on real radiographs from an :class:`ImageCache`, on a time budget.

Why it looks like this (figures measured on this project's 2-core CPU, batch 32):

* **Network.** timm ``resnet10t`` (4.9 M parameters, 9.8 MB in float16) at 192 px trains at
  17 ms per image and step under bfloat16 autocast with ``channels_last``, about as fast as
  MobileNetV3-large at 160 px (18 ms) and four times faster than ResNet-18 in float32. Plain
  residual blocks train reliably from random initialisation.
* **Time-driven one-cycle schedule.** A session on this CPU can end without warning and shares
  the cores with other work, so the learning rate follows the share of the *time budget* spent,
  not of a step count: however fast the machine runs, training ends annealed at the budget. A
  checkpoint every :data:`CHECKPOINT_EVERY` steps carries the time spent, so a resumed run picks
  up the schedule where it stopped. The card records the steps and epochs actually done.
* **Loss.** Smooth-L1 on the standardised age trains the mean; a Gaussian negative
  log-likelihood on the detached mean trains the log variance, so the variance head cannot slow
  the mean down. The interval is then calibrated split-conformally on a calibration slice of
  ``train`` that the network never sees.
* **Augmentation** for what uploads vary in and the cached squares do not show: rotation,
  scale, aspect ratio (the RSNA copies are squashed to a square; uploads keep their shape),
  shift, mirroring, contrast, gamma and noise. Padding bars are trimmed at inference
  (:func:`boneage.preprocess.trim_bars`), so they need no augmentation.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from boneage.regress import AgeRegressor, Regressor, RegressorConfig, normalise

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 100
"""Optimiser steps between two checkpoints of a running training."""


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


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random pose, aspect ratio, exposure and noise for a batch (B, 1, S, S) in 0..1.

    Half the images are mirrored: the CNN reads films in their acquired side, and a right hand
    matures as the left does."""
    batch = images.shape[0]

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
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    gamma = torch.exp(torch.randn(batch, generator=generator) * 0.25)[:, None, None, None]
    out = out.clamp(0, 1) ** gamma
    contrast = uniform(0.8, 1.2)[:, None, None, None]
    brightness = uniform(-0.08, 0.08)[:, None, None, None]
    noise = uniform(0.0, 0.03)[:, None, None, None]
    out = out * contrast + brightness + noise * torch.randn(out.shape, generator=generator)
    return out.clamp(0, 1)


def _learning_rate(config: RealTrainConfig, progress: float) -> float:
    """One-cycle: 10 % linear warm-up to the peak, then cosine annealing to 1/1000 of it."""
    progress = min(max(progress, 0.0), 1.0)
    if progress < 0.1:
        return config.learning_rate * (0.04 + 0.96 * progress / 0.1)
    cosine = 0.5 * (1 + math.cos(math.pi * (progress - 0.1) / 0.9))
    return config.learning_rate * (1e-3 + (1 - 1e-3) * cosine)


@dataclass(frozen=True)
class TrainingRecord:
    """What a finished training did: steps, epochs, wall time."""

    steps: int
    epochs: float
    seconds: float


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
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    generator = torch.Generator().manual_seed(config.seed)
    spent, step = 0.0, 0
    if resume and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        network.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        spent, step = state["seconds"], state["step"]
        log.info("resumed at step %d after %.0f s", step, spent)
    targets = torch.as_tensor(normalise(np.asarray(age_months, np.float32)))
    sexes = torch.as_tensor(np.asarray(male, np.float32))
    budget = config.budget_minutes * 60
    steps_per_epoch = len(images) // config.batch_size
    total_steps = config.max_epochs * steps_per_epoch
    started = clock() - spent
    bar = tqdm(total=round(budget), initial=round(spent), unit="s", desc="train (time budget)")
    network.train()
    while spent < budget and step < total_steps:
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, steps_per_epoch * config.batch_size, config.batch_size):
            index = order[start : start + config.batch_size]
            batch = augment(images[index], generator).to(device)
            batch = batch.contiguous(memory_format=torch.channels_last)
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(config, spent / budget)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bfloat16):
                mean, log_var = network(batch, sexes[index].to(device))
            mean, log_var = mean.float(), log_var.float()
            target = targets[index].to(device)
            loss = F.smooth_l1_loss(mean, target, beta=0.1) + F.gaussian_nll_loss(
                mean.detach(), target, log_var.exp()
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            now = clock() - started
            bar.update(round(now) - round(spent))
            bar.set_postfix(step=step, loss=f"{loss.item():.3f}")
            spent = now
            if step % CHECKPOINT_EVERY == 0:
                _save_checkpoint(checkpoint, network, optimizer, generator, config, step, spent)
            if spent >= budget or step >= total_steps:
                break
    bar.close()
    _save_checkpoint(checkpoint, network, optimizer, generator, config, step, spent)
    network.eval()
    record = TrainingRecord(steps=step, epochs=step / max(1, steps_per_epoch), seconds=spent)
    return Regressor(network=network, interval_scale=1.645, device=device), record


def _save_checkpoint(
    path: Path,
    network: AgeRegressor,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    config: RealTrainConfig,
    step: int,
    seconds: float,
) -> None:
    partial = path.with_suffix(".partial")
    torch.save(
        {
            "model": network.state_dict(),
            "optimizer": optimizer.state_dict(),
            "generator": generator.get_state(),
            "config": asdict(config),
            "step": step,
            "seconds": seconds,
        },
        partial,
    )
    partial.replace(path)

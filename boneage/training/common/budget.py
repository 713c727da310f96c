"""What every time-budgeted training run on this project shares: the one-cycle learning rate
driven by the share of the budget spent, and atomic, resumable checkpoints.

A session on a 2-core CPU can end without warning and shares its cores with other work, so the
schedule follows wall time, not a step count: however fast the machine runs, training ends
annealed at the budget. A checkpoint carries the time spent, so a resumed run picks up the
schedule where it stopped.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from boneage.training.common.config import TrainConfig

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 100
"""Optimiser steps between two checkpoints of a running training."""


def one_cycle_rate(peak: float, progress: float) -> float:
    """One-cycle: 10 % linear warm-up to ``peak``, then cosine annealing to 1/1000 of it.

    ``progress`` (clipped to 0..1) is the larger of the shares of the time budget and of the
    step budget spent, so training ends annealed at whichever budget binds first."""
    progress = min(max(progress, 0.0), 1.0)
    if progress < 0.1:
        return peak * (0.04 + 0.96 * progress / 0.1)
    cosine = 0.5 * (1 + math.cos(math.pi * (progress - 0.1) / 0.9))
    return peak * (1e-3 + (1 - 1e-3) * cosine)


def save_checkpoint(
    path: Path,
    network: nn.Module,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    *,
    config: dict[str, Any],
    step: int,
    seconds: float,
) -> None:
    """Write the training state next to ``path`` and move it into place, so that a run killed
    while writing leaves the previous checkpoint intact."""
    partial = path.with_suffix(".partial")
    torch.save(
        {
            "model": network.state_dict(),
            "optimizer": optimizer.state_dict(),
            "generator": generator.get_state(),
            "config": config,
            "step": step,
            "seconds": seconds,
        },
        partial,
    )
    partial.replace(path)


def resume_checkpoint(
    path: Path, network: nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator
) -> tuple[int, float]:
    """Load a :func:`save_checkpoint` file into the three; returns (step, seconds spent)."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    network.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    log.info("resumed %s at step %d after %.0f s", path, state["step"], state["seconds"])
    return state["step"], state["seconds"]


@dataclass(frozen=True)
class TrainingRecord:
    """What a finished training did: steps, epochs, wall time."""

    steps: int
    epochs: float
    seconds: float


def train_on_budget(
    network: nn.Module,
    batch_loss: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
    *,
    n_items: int,
    config: TrainConfig,
    checkpoint: Path,
    resume: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> TrainingRecord:
    """The one training loop of the real-data networks: AdamW on ``network``, ``n_items``
    shuffled each epoch, ``batch_loss(indices, generator)`` on each batch, the one-cycle rate,
    a checkpoint every :data:`CHECKPOINT_EVERY` steps and at the end. One generator seeded by
    ``config.seed`` draws the order and whatever augmentation ``batch_loss`` draws from it, so a
    resumed run continues the same stream."""
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    generator = torch.Generator().manual_seed(config.seed)
    settings = asdict(config)
    step, spent = 0, 0.0
    if resume and checkpoint.exists():
        step, spent = resume_checkpoint(checkpoint, network, optimizer, generator)
    seconds = config.budget_minutes * 60
    steps_per_epoch = max(1, n_items // config.batch_size)
    total_steps = config.max_epochs * steps_per_epoch
    started = clock() - spent
    bar = tqdm(total=round(seconds), initial=round(spent), unit="s", desc="train (time budget)")
    network.train()
    while spent < seconds and step < total_steps:
        order = torch.randperm(n_items, generator=generator)
        for start in range(0, steps_per_epoch * config.batch_size, config.batch_size):
            progress = max(spent / seconds, step / total_steps)
            for group in optimizer.param_groups:
                group["lr"] = one_cycle_rate(config.learning_rate, progress)
            loss = batch_loss(order[start : start + config.batch_size], generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            now = clock() - started
            bar.update(round(now) - round(spent))
            bar.set_postfix(step=step, loss=f"{loss.item():.3f}")
            spent = now
            if step % CHECKPOINT_EVERY == 0:
                save_checkpoint(
                    checkpoint,
                    network,
                    optimizer,
                    generator,
                    config=settings,
                    step=step,
                    seconds=spent,
                )
            if spent >= seconds or step >= total_steps:
                break
    bar.close()
    save_checkpoint(
        checkpoint, network, optimizer, generator, config=settings, step=step, seconds=spent
    )
    network.eval()
    return TrainingRecord(steps=step, epochs=step / steps_per_epoch, seconds=spent)

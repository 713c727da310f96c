"""Train the hand-landmark U-Net (:mod:`boneage.multistep.landmarks`) on annotated real hands.

Supervision is partial: a hand may have landmarks, region masks or both
(:class:`~boneage.training.landmarks.data.AnnotatedHands`), and each loss counts only the hands
that carry its annotation.

- **Regions**: binary cross-entropy plus soft Dice per channel. Dice keeps the small epiphyses
  of an infant from vanishing under the background; cross-entropy gives stable early gradients.
- **Landmarks**: each heatmap is a spatial softmax trained by cross-entropy against a Gaussian
  of :data:`SIGMA_PX` around the annotated point. Unlike a regressed heatmap, the softmax always
  has one peak to read, and its concentration is the landmark's confidence. A landmark that the
  pose augmentation moves off the film is not scored.
- **Augmentation**: the one pipeline of :mod:`boneage.training.common.augment`: one random
  pose moves image, region masks and landmarks together; then exposure and noise.
- **Schedule**: time-budgeted one-cycle with resumable checkpoints
  (:mod:`boneage.training.common.budget`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from boneage.multistep.landmarks import REGIONS, LandmarkConfig, build_landmark_net
from boneage.training.common.augment import augment_batch
from boneage.training.common.budget import TrainingRecord, train_on_budget
from boneage.training.common.config import TrainConfig
from boneage.training.landmarks.data import AnnotatedHands

SIGMA_PX = 2.0
"""Spread (pixels at 256) of a landmark's target: a joint centre is uncertain by about this
much between annotators."""


def gaussian_targets(landmarks: torch.Tensor, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised Gaussians (B, K, S, S) around each landmark and which ones are on the film."""
    inside = (landmarks >= 0).all(-1) & (landmarks < side).all(-1)
    valid = torch.isfinite(landmarks).all(-1) & inside
    points = torch.nan_to_num(landmarks)
    axis = torch.arange(side, dtype=torch.float32)
    rows = torch.exp(-((axis - points[..., 0:1]) ** 2) / (2 * SIGMA_PX**2))
    cols = torch.exp(-((axis - points[..., 1:2]) ** 2) / (2 * SIGMA_PX**2))
    target = rows[..., :, None] * cols[..., None, :]
    return target / target.sum((-2, -1), keepdim=True).clamp_min(1e-12), valid


def landmark_loss(
    output: torch.Tensor,
    regions: torch.Tensor,
    landmarks: torch.Tensor,
    has_regions: torch.Tensor,
) -> torch.Tensor:
    """Region BCE + Dice over the hands with masks, plus heatmap cross-entropy over the landmarks
    on the film of the hands with keypoints."""
    loss = output.new_zeros(())
    count = len(REGIONS)
    if has_regions.any():
        logits = output[has_regions, :count]
        target = torch.cat([(regions[has_regions] % 2), (regions[has_regions] // 2) % 2], 1)
        probability = torch.sigmoid(logits)
        overlap = (probability * target).sum((-2, -1))
        dice = 1 - (2 * overlap + 1) / (probability.sum((-2, -1)) + target.sum((-2, -1)) + 1)
        loss = loss + F.binary_cross_entropy_with_logits(logits, target) * 10 + dice.mean()
    heatmaps = output[:, count:]
    target, valid = gaussian_targets(landmarks, heatmaps.shape[-1])
    if valid.any():
        log_probability = F.log_softmax(heatmaps.flatten(2), -1)
        cross_entropy = -(target.flatten(2) * log_probability).sum(-1)
        loss = loss + cross_entropy[valid].mean() / 5
    return loss


def fit_landmarks(
    config: TrainConfig,
    hands: AnnotatedHands,
    *,
    checkpoint: Path,
    resume: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[nn.Module, TrainingRecord]:
    """Train until the time budget (or ``max_epochs``) is spent; checkpoints let it resume."""
    torch.manual_seed(config.seed)
    network = build_landmark_net(LandmarkConfig()).to(memory_format=torch.channels_last)
    images = torch.from_numpy(hands.images)[:, None]
    regions = torch.from_numpy(hands.regions)[:, None].float()
    landmarks = torch.from_numpy(hands.landmarks)
    has_regions = torch.from_numpy(hands.has_regions)

    def batch_loss(index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        batch = augment_batch(
            images[index].float() / 255,
            generator,
            masks=regions[index],
            landmarks=landmarks[index],
        )
        image, region, points = batch.images, batch.masks, batch.landmarks
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bfloat16):
            output = network(image.contiguous(memory_format=torch.channels_last))
        return landmark_loss(output.float(), region, points, has_regions[index])

    record = train_on_budget(
        network,
        batch_loss,
        n_items=len(images),
        config=config,
        checkpoint=checkpoint,
        resume=resume,
        clock=clock,
    )
    return network, record

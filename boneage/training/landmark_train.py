"""Train the hand-landmark U-Net (:mod:`boneage.multistep.landmarks`) on annotated real hands.

Supervision is partial: a hand may have landmarks, region masks or both
(:class:`~boneage.training.landmark_data.AnnotatedHands`), and each loss counts only the hands
that carry its annotation.

- **Regions**: binary cross-entropy plus soft Dice per channel. Dice keeps the small epiphyses
  of an infant from vanishing under the background; cross-entropy gives stable early gradients.
- **Landmarks**: each heatmap is a spatial softmax trained by cross-entropy against a Gaussian
  of :data:`SIGMA_PX` around the annotated point. Unlike a regressed heatmap, the softmax always
  has one peak to read, and its concentration is the landmark's confidence. A landmark that the
  pose augmentation moves off the film is not scored.
- **Augmentation**: the end-to-end CNN's random pose (rotation, scale, aspect ratio, shift,
  mirroring) warps image, masks and points together; then exposure and noise.
- **Schedule**: time-budgeted one-cycle with resumable checkpoints
  (:mod:`boneage.training.budget`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from boneage.multistep.landmarks import REGIONS, LandmarkConfig, build_landmark_net
from boneage.training.budget import TrainingRecord, train_on_budget
from boneage.training.landmark_data import AnnotatedHands
from boneage.training.regress_real import photometric, random_pose

SIGMA_PX = 2.0
"""Spread (pixels at 256) of a landmark's target: a joint centre is uncertain by about this
much between annotators."""


@dataclass(frozen=True)
class LandmarkTrainConfig:
    """One training run; stored in the checkpoint and on the card."""

    budget_minutes: float = 40.0
    max_epochs: int = 200
    batch_size: int = 16
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    bfloat16: bool = True


def warp_batch(
    images: torch.Tensor,
    regions: torch.Tensor,
    landmarks: torch.Tensor,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One random pose for each hand applied to its image (bilinear), region bits (nearest) and
    landmarks ((row, column) pixels, NaN kept), then exposure and noise on the image."""
    batch, _, side, _ = images.shape
    theta = random_pose(batch, generator)
    grid = F.affine_grid(theta, [batch, 1, side, side], align_corners=False)
    image = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    region = F.grid_sample(regions, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    # affine_grid maps output to input: input = A @ output + t, so output = A^-1 (input - t),
    # in normalised (x, y) coordinates.
    xy = torch.stack([landmarks[..., 1], landmarks[..., 0]], -1)
    normalised = (2 * xy + 1) / side - 1
    inverse = torch.linalg.inv(theta[:, :, :2])
    moved = torch.einsum("bij,bkj->bki", inverse, normalised - theta[:, None, :, 2])
    pixels = ((moved + 1) * side - 1) / 2
    return photometric(image, generator), region, torch.stack([pixels[..., 1], pixels[..., 0]], -1)


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
    config: LandmarkTrainConfig,
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
        image, region, points = warp_batch(
            images[index].float() / 255, regions[index], landmarks[index], generator
        )
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

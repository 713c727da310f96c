"""Train the end-to-end CNN on real radiographs from an :class:`ImageCache`, on a time budget.

Why it looks like this (figures measured on this project's 2-core CPU, batch 32):

* **Network.** timm ``resnet10t`` (4.9 M parameters, 9.8 MB in float16) at 192 px trains at
  17 ms per image and step under bfloat16 autocast with ``channels_last``, about as fast as
  MobileNetV3-large at 160 px (18 ms) and four times faster than ResNet-18 in float32. Plain
  residual blocks train reliably from random initialisation.
* **Time-driven one-cycle schedule** with resumable checkpoints
  (:mod:`boneage.training.common.budget`).
  The card records the steps and epochs actually done.
* **Loss.** Smooth-L1 on the standardised age trains the mean; a Gaussian negative
  log-likelihood on the detached mean trains the log variance, so the variance head cannot slow
  the mean down. The interval is then calibrated split-conformally on a calibration slice of
  ``train`` that the network never sees.
* **Augmentation**: the one pipeline of :mod:`boneage.training.common.augment` (pose, side,
  exposure and noise).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from boneage.endtoend.cnn import AgeRegressor, Regressor, RegressorConfig, normalise
from boneage.framing.canonical import sample_crops
from boneage.training.common.augment import augment_batch, augment_exposure
from boneage.training.common.budget import TrainingRecord, train_on_budget
from boneage.training.common.config import TrainConfig

CNN_NETWORK = RegressorConfig(
    encoder="resnet10t", input_side=192, framing="field", mirror_average=True
)
"""The shipped CNN: timm ``resnet10t`` at 192 px on the whole film, reading each film and its
mirror image at inference (it trains mirrored)."""


def _fit(
    config: TrainConfig,
    inputs: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
    male: np.ndarray,
    age_months: np.ndarray,
    *,
    network: RegressorConfig,
    checkpoint: Path,
    resume: bool,
    device: str,
    clock: Callable[[], float],
    initial: dict[str, torch.Tensor] | None = None,
) -> tuple[Regressor, TrainingRecord]:
    """The one training of the CNN: ``inputs(indices, generator)`` gives a batch's augmented
    images (B, 1, S, S); the loss is the module's (smooth-L1 mean, Gaussian NLL variance).
    ``initial`` (a trained network's weights) continues that network under a fresh schedule."""
    torch.manual_seed(config.seed)
    model = AgeRegressor(network)
    if initial is not None:
        model.load_state_dict(initial)
    model = model.to(device, memory_format=torch.channels_last)
    targets = torch.as_tensor(normalise(np.asarray(age_months, np.float32)))
    sexes = torch.as_tensor(np.asarray(male, np.float32))

    def batch_loss(index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        batch = inputs(index, generator).to(device)
        batch = batch.contiguous(memory_format=torch.channels_last)
        kind = torch.device(device).type  # bfloat16 autocast on the CPU and on a GPU alike
        with torch.autocast(kind, dtype=torch.bfloat16, enabled=config.bfloat16):
            mean, log_var = model(batch, sexes[index].to(device))
        mean, log_var = mean.float(), log_var.float()
        target = targets[index].to(device)
        return F.smooth_l1_loss(mean, target, beta=0.1) + F.gaussian_nll_loss(
            mean.detach(), target, log_var.exp()
        )

    record = train_on_budget(
        model,
        batch_loss,
        n_items=len(targets),
        config=config,
        checkpoint=checkpoint,
        resume=resume,
        clock=clock,
    )
    return Regressor(network=model, interval_scale=1.645, device=device), record


def fit_real(
    config: TrainConfig,
    images: torch.Tensor,
    male: np.ndarray,
    age_months: np.ndarray,
    *,
    network: RegressorConfig = CNN_NETWORK,
    checkpoint: Path,
    resume: bool = False,
    device: str = "cpu",
    clock: Callable[[], float] = time.monotonic,
    initial: dict[str, torch.Tensor] | None = None,
) -> tuple[Regressor, TrainingRecord]:
    """Train on whole films until the time budget is spent (or ``max_epochs``); checkpoints
    let it resume."""

    def inputs(index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return augment_batch(images[index], generator).images

    return _fit(
        config,
        inputs,
        male,
        age_months,
        network=network,
        checkpoint=checkpoint,
        resume=resume,
        device=device,
        clock=clock,
        initial=initial,
    )


CANONICAL_NETWORK = RegressorConfig(
    encoder="resnet10t", input_side=224, framing="canonical", mirror_average=False
)
"""The CNN of the canonical hand: timm ``resnet10t`` reading the 224-pixel canonical crop
(the crop's radius-to-MCP 3 distance is 86 pixels, about the 299-pixel films' own), once: the
crop has already made every hand a left one."""

POSE_ERROR = {"rotation_deg": 8.0, "scale": 0.08, "shift": 0.03, "aspect": 0.08}
"""Largest random perturbation of each training crop's pose: turn (degrees), zoom and aspect
(share) and shift (crop widths). It stands for the landmark U-Net's error on a film it has not
seen, and for the residual squash of the RSNA copies whose original size is unknown."""


def perturb_matrices(
    matrices: torch.Tensor, generator: torch.Generator, limits: dict[str, float] = POSE_ERROR
) -> torch.Tensor:
    """Each crop → film matrix (N, 2, 3) turned, zoomed, stretched and shifted about the crop's
    centre by a uniform draw within ``limits``."""
    count = len(matrices)

    def draw(limit: float) -> torch.Tensor:
        return (torch.rand(count, generator=generator) * 2 - 1) * limit

    angle = torch.deg2rad(draw(limits["rotation_deg"]))
    zoom = 1 + draw(limits["scale"])
    aspect = 1 + draw(limits["aspect"])
    shift = torch.stack([draw(limits["shift"]), draw(limits["shift"])], dim=1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    inner = torch.zeros(count, 2, 3)
    inner[:, 0, 0], inner[:, 0, 1] = cos * zoom * aspect, -sin * zoom
    inner[:, 1, 0], inner[:, 1, 1] = sin * zoom * aspect, cos * zoom
    centre = torch.full((count, 2), 0.5)
    inner[:, :, 2] = centre - torch.einsum("nij,nj->ni", inner[:, :, :2], centre) + shift
    outer = matrices.float()
    return torch.cat(
        [
            outer[:, :, :2] @ inner[:, :, :2],
            (torch.einsum("nij,nj->ni", outer[:, :, :2], inner[:, :, 2]) + outer[:, :, 2])[
                ..., None
            ],
        ],
        dim=2,
    )


def canonical_inputs(
    films: np.ndarray, matrices: np.ndarray | torch.Tensor, side: int
) -> torch.Tensor:
    """Canonical crops (N, 1, side, side) in 0..1 of cached uint8 films under their poses,
    filled with each film's border level where a crop reaches past the film."""
    block = torch.from_numpy(np.asarray(films)).float().div_(255)[:, None]
    return sample_crops(block, torch.as_tensor(matrices), side)


def fit_canonical(
    config: TrainConfig,
    films: np.ndarray,
    matrices: np.ndarray,
    male: np.ndarray,
    age_months: np.ndarray,
    *,
    network: RegressorConfig = CANONICAL_NETWORK,
    checkpoint: Path,
    resume: bool = False,
    device: str = "cpu",
    clock: Callable[[], float] = time.monotonic,
    initial: dict[str, torch.Tensor] | None = None,
) -> tuple[Regressor, TrainingRecord]:
    """:func:`fit_real` on canonical crops of cached films (uint8, N × S × S) under their poses
    (:class:`~boneage.training.cnn.poses.PoseCache` matrices), each batch's poses perturbed by
    :func:`perturb_matrices`, then exposure and noise."""
    poses = torch.as_tensor(matrices, dtype=torch.float32)

    def inputs(index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        moved = perturb_matrices(poses[index], generator)
        crops = canonical_inputs(films[index.numpy()], moved, network.input_side)
        return augment_exposure(crops, generator)

    return _fit(
        config,
        inputs,
        male,
        age_months,
        network=network,
        checkpoint=checkpoint,
        resume=resume,
        device=device,
        clock=clock,
        initial=initial,
    )

"""The one augmentation pipeline of the real-data trainers: what uploads vary in and the cached
squares do not show.

One random draw per film moves its image, its region masks and its landmarks together, through
torchvision's ``transforms.v2`` on ``tv_tensors`` (``Image``, ``Mask``, ``KeyPoints``):
``RandomResizedCrop`` (scale, aspect ratio and shift: the RSNA copies are squashed to a square,
uploads keep their shape), ``RandomRotation`` (±25°) and ``RandomHorizontalFlip`` (networks read
films in their acquired side, and a right hand matures as the left does). Then exposure and
noise on the image alone, with MONAI's intensity transforms: gamma (``RandAdjustContrast``),
contrast (``RandScaleIntensity``), brightness (``RandShiftIntensity``) and Gaussian noise.
Padding bars are trimmed at inference (:func:`boneage.framing.field.trim_bars`), so they need no
augmentation. The CNN, the landmark U-Net and the gate train through :func:`augment_batch`.

Both libraries draw from their own generators; each film's draw is seeded from the training
loop's ``torch.Generator``, so a resumed run draws what an uninterrupted one would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from monai.transforms import (
    Compose,
    RandAdjustContrast,
    RandGaussianNoise,
    RandScaleIntensity,
    RandShiftIntensity,
)
from torchvision import tv_tensors
from torchvision.transforms import v2

MAX_ROTATION_DEG = 25.0
CROP_SCALE = (0.7, 1.0)
"""Share of the square the crop keeps: up to about 1.2 times zoom, with a random shift."""
CROP_RATIO = (0.75, 1.33)
"""Aspect ratio of the crop: films squashed or stretched by up to a quarter."""


def _pose(side: int) -> v2.Compose:
    return v2.Compose(
        [
            v2.RandomResizedCrop(side, scale=CROP_SCALE, ratio=CROP_RATIO, antialias=True),
            v2.RandomRotation(MAX_ROTATION_DEG, interpolation=v2.InterpolationMode.BILINEAR),
            v2.RandomHorizontalFlip(),
        ]
    )


def _exposure() -> Compose:
    return Compose(
        [
            RandAdjustContrast(prob=1.0, gamma=(math.exp(-0.5), math.exp(0.5))),
            RandScaleIntensity(factors=0.2, prob=1.0),
            RandShiftIntensity(offsets=0.08, prob=1.0),
            RandGaussianNoise(prob=1.0, std=0.03),
        ]
    )


@dataclass(frozen=True)
class Augmented:
    """A batch after augmentation: images (B, 1, S, S) in 0..1, region masks (B, C, S, S) or
    None, landmarks (B, K, 2) as (row, column) pixels (NaN kept, moved off the film when the
    pose moves them there) or None."""

    images: torch.Tensor
    masks: torch.Tensor | None = None
    landmarks: torch.Tensor | None = None


def augment_exposure(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Exposure and noise alone, one draw per film: for a network whose pose the canonical crop
    fixes (:mod:`boneage.framing.canonical`), which draws its own small pose error."""
    exposure = _exposure()
    seeds = torch.randint(0, 2**31 - 1, (len(images),), generator=generator).tolist()
    out = []
    for image, seed in zip(images, seeds, strict=True):
        exposure.set_random_state(seed)
        out.append(torch.as_tensor(exposure(image)))
    return torch.stack(out).clamp(0, 1).float()


def augment_batch(
    images: torch.Tensor,
    generator: torch.Generator,
    *,
    masks: torch.Tensor | None = None,
    landmarks: torch.Tensor | None = None,
) -> Augmented:
    """One random pose per film applied to its image (bilinear), masks (nearest) and landmarks
    together, then exposure and noise on the image."""
    side = images.shape[-1]
    pose, exposure = _pose(side), _exposure()
    seeds = torch.randint(0, 2**31 - 1, (len(images),), generator=generator).tolist()
    out_images, out_masks, out_points = [], [], []
    for index, seed in enumerate(seeds):
        items: list[object] = [tv_tensors.Image(images[index])]
        if masks is not None:
            items.append(tv_tensors.Mask(masks[index]))
        if landmarks is not None:
            xy = landmarks[index].flip(-1)
            items.append(tv_tensors.KeyPoints(xy, canvas_size=(side, side)))
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            moved = pose(*items)
        moved = moved if isinstance(moved, tuple) else (moved,)
        exposure.set_random_state(seed)
        out_images.append(torch.as_tensor(exposure(moved[0].as_subclass(torch.Tensor))))
        if masks is not None:
            out_masks.append(moved[1].as_subclass(torch.Tensor))
        if landmarks is not None:
            out_points.append(moved[-1].as_subclass(torch.Tensor).flip(-1))
    return Augmented(
        images=torch.stack(out_images).clamp(0, 1).float(),
        masks=torch.stack(out_masks) if masks is not None else None,
        landmarks=torch.stack(out_points) if landmarks is not None else None,
    )

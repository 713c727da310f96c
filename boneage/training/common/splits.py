"""Every data split in one place: phantom seed ranges, and the real train / calibration / val.

Phantoms are deterministic by seed, so a split is a range of seeds; the ranges never overlap, so
no phantom is trained on, selected on, calibrated on and evaluated on twice. Real radiographs
come with a fixed ``train``/``val`` split file; the calibration slice that sets the CNN's
split-conformal interval (and the gate's threshold) is a seeded part of ``train``, and ``val`` is
never trained or tuned on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HELD_OUT_FIRST_SEED = 10_000_000
"""First seed of the held-out phantoms; training seeds must stay below it."""
CALIBRATION_FIRST_SEED = 20_000_000
"""First seed of the calibration phantoms; training seeds stay below the held-out seeds."""
EVALUATION_FIRST_SEED = HELD_OUT_FIRST_SEED + 500_000
"""First phantom seed of multi-step held-out evaluations: away from the phantoms a U-Net selects
its best epoch on (from ``HELD_OUT_FIRST_SEED``), so no evaluation re-uses a selection case."""
MULTISTEP_CALIBRATION_FIRST_SEED = 30_000_000
"""First phantom seed on which a reference table's temperatures are calibrated behind a U-Net:
never trained on, selected on or evaluated on."""


@dataclass(frozen=True)
class RealSplits:
    """Indices into the cache: training, calibration (a seeded slice of ``train``) and ``val``."""

    train: np.ndarray
    calibration: np.ndarray
    val: np.ndarray


def real_splits(
    split: np.ndarray, *, n_calibration: int, seed: int, n_train: int | None = None
) -> RealSplits:
    """Split the ``train`` images (``split`` names each image's split, as
    :attr:`~boneage.training.common.image_cache.ImageCache.split`) into training and calibration;
    ``val`` stays apart.

    ``n_train`` takes a seeded random subset of the training images (the learning curve's sizes).
    """
    rng = np.random.default_rng(seed)
    train = np.flatnonzero(split == "train")
    val = np.flatnonzero(split == "val")
    if len(train) <= n_calibration:
        raise ValueError(f"{len(train)} training images cannot spare {n_calibration} to calibrate")
    order = rng.permutation(train)
    calibration, rest = np.sort(order[:n_calibration]), order[n_calibration:]
    if n_train is not None:
        rest = rest[:n_train]
    return RealSplits(train=np.sort(rest), calibration=calibration, val=val)

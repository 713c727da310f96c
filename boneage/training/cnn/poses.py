"""The canonical pose of every cached film, found once by the landmark U-Net before training.

The CNN that reads the canonical hand (:mod:`boneage.framing.canonical`) trains on crops of the
cached films; where each crop lies depends only on the film, so the landmark U-Net runs once per
film, and once more on its first crop to refine the pose as the runtime does
(:func:`~boneage.framing.canonical.refine_pose`), and the poses are kept beside the image cache.
Training then perturbs each pose a little (the landmark U-Net's own error on a new film) and
samples the crop in the batch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from boneage.framing.canonical import (
    CanonicalPose,
    PoseFailure,
    pose_from_landmarks,
    refine_pose,
    sample_crops,
)
from boneage.multistep.landmarks import INPUT_SIDE, locate_batch
from boneage.training.common.arrays import SavedArrays
from boneage.training.common.image_cache import ImageCache, at_side

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoseCache(SavedArrays):
    """For each film of an :class:`ImageCache` (same order): the crop → film matrix (N, 2, 3),
    NaN where no pose was found, whether the film was mirrored and whether the pose was refined
    on the first crop (a pose cache of before the refinement lacks the field and is rebuilt)."""

    ids: np.ndarray
    matrices: np.ndarray
    found: np.ndarray
    mirrored: np.ndarray
    refined: np.ndarray


def build_poses(cache: ImageCache, network: nn.Module, *, batch: int = 64) -> PoseCache:
    """Run the landmark U-Net on every cached film at its input side, fit each pose with the
    films' own pixel aspect (:attr:`ImageCache.pixel_aspect`) and refine it on its crop."""
    side = cache.images.shape[-1]
    matrices = np.full((len(cache.ids), 2, 3), np.nan, dtype=np.float32)
    found = np.zeros(len(cache.ids), dtype=bool)
    mirrored = np.zeros(len(cache.ids), dtype=bool)
    refined = np.zeros(len(cache.ids), dtype=bool)
    network.eval()
    torch.set_grad_enabled(False)
    for start in tqdm(range(0, len(cache.ids), batch), desc="canonical poses", unit="batch"):
        films = at_side(cache.images[start : start + batch], side)
        inputs = at_side(cache.images[start : start + batch], INPUT_SIDE)[:, 0].numpy()
        first: dict[int, CanonicalPose | PoseFailure] = {
            offset: pose_from_landmarks(
                hand.landmarks,
                side / INPUT_SIDE,
                pixel_aspect=float(cache.pixel_aspect[start + offset]),
            )
            for offset, hand in enumerate(locate_batch(network, inputs))
        }
        posed = {offset: pose for offset, pose in first.items() if isinstance(pose, CanonicalPose)}
        if not posed:
            continue
        offsets = list(posed)
        crops = sample_crops(
            films[offsets],
            torch.from_numpy(np.stack([posed[o].matrix for o in offsets])),
            INPUT_SIDE,
        )[:, 0].numpy()
        for offset, hand in zip(offsets, locate_batch(network, crops), strict=True):
            pose = refine_pose(posed[offset], hand.landmarks, INPUT_SIDE)
            index = start + offset
            matrices[index], found[index], mirrored[index] = pose.matrix, True, pose.mirrored
            refined[index] = pose is not posed[offset]
    torch.set_grad_enabled(True)
    log.info(
        "canonical pose found on %d of %d films, refined on %d",
        found.sum(),
        len(found),
        refined.sum(),
    )
    return PoseCache(
        ids=cache.ids, matrices=matrices, found=found, mirrored=mirrored, refined=refined
    )


def load_or_build_poses(cache_path: Path, cache: ImageCache, network: nn.Module) -> PoseCache:
    """The poses kept beside ``cache_path`` (``<cache>.poses.npz``), built when missing."""
    path = cache_path.with_suffix(".poses.npz")
    if path.exists():
        try:
            poses = PoseCache.load(path)
        except KeyError:
            log.warning("%s holds poses of before their refinement; building them again", path)
        else:
            if np.array_equal(poses.ids, cache.ids):
                return poses
            log.warning("%s belongs to another cache; building the poses again", path)
    poses = build_poses(cache, network)
    poses.save(path)
    return poses

"""Decode a labelled RSNA-layout dataset once into one array of model inputs.

Training a CNN for many epochs on two CPU cores cannot afford to decode JPEGs, trace outlines
and resize in every step. Each image goes once through the runtime's own steps, :func:`orient`
and :func:`field_square` (the whole film as a square), and is kept as uint8 at
:data:`CACHE_SIDE` pixels in one ``.npz`` beside its labels and split. The training loop then
only augments and resizes tensors. Bone is made bright (an inverted film is flipped back) but
pose and side stay as acquired, as the CNN reads them at inference
(:attr:`boneage.quality.orientation.Oriented.as_acquired`).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from boneage.framing.field import field_square
from boneage.quality.orientation import orient
from boneage.training.common.arrays import SavedArrays
from boneage.training.common.datasets.records import Record, load_case
from boneage.training.common.datasets.rsna import read_rsna_labels, read_split

log = logging.getLogger(__name__)

CACHE_SIDE = 256
"""Side of the cached squares: the runtime's input size, so the network's own resize applies."""


@dataclass(frozen=True)
class ImageCache(SavedArrays):
    """Model inputs of a labelled dataset: ``images`` uint8 (N, S, S), ages in months, sex as
    1.0 male / 0.0 female, each image's split name (``""`` without a split file) and whether
    :func:`orient` corrected it (inverted, or rotated and mirrored for the multi-step path)."""

    ids: np.ndarray
    images: np.ndarray
    age_months: np.ndarray
    male: np.ndarray
    split: np.ndarray
    corrected: np.ndarray
    pixel_aspect: np.ndarray
    """Width over height of one cached pixel on the patient: 1 for films resized keeping
    their shape, the original width/height for copies squashed to a square (see
    :func:`read_pixel_aspects`)."""


def _prepare(record: Record, side: int = CACHE_SIDE) -> tuple[np.ndarray, bool]:
    case = load_case(record)
    oriented = orient(case.pixels)
    prepared = field_square(oriented.as_acquired, size=side)
    return np.round(prepared.image * 255).astype(np.uint8), bool(oriented.corrections)


def dataset_records(directory: Path) -> tuple[list[Record], dict[str, str]]:
    """The labelled records of an RSNA-layout folder in file order, and each id's split: the
    order the cache and every seeded split of it use."""
    images = directory / "images" if (directory / "images").is_dir() else directory
    records = read_rsna_labels(directory / "labels.csv", images)
    split_csv = directory / "split.csv"
    return records, read_split(split_csv) if split_csv.is_file() else {}


def read_pixel_aspects(directory: Path, ids: list[str]) -> np.ndarray:
    """Each image's pixel aspect from ``original_sizes.csv`` (``id,width,height`` of the film
    before it was squashed to a square), the median of the listed ones for an unlisted image;
    1 for every image when the dataset has no such file (its images keep their shape)."""
    sizes_csv = directory / "original_sizes.csv"
    if not sizes_csv.is_file():
        return np.ones(len(ids), dtype=np.float32)
    with sizes_csv.open(newline="") as handle:
        listed = {
            row["id"]: float(row["width"]) / float(row["height"]) for row in csv.DictReader(handle)
        }
    median = float(np.median(list(listed.values()))) if listed else 1.0
    return np.array([listed.get(i, median) for i in ids], dtype=np.float32)


def build_cache(
    directory: Path, out: Path, *, workers: int = 2, side: int = CACHE_SIDE
) -> ImageCache:
    """Decode and prepare every image of ``directory`` (``labels.csv``, ``images/``, optional
    ``split.csv``) with ``workers`` processes at ``side`` pixels; write and return the cache.

    A side above :data:`CACHE_SIDE` keeps the films' own detail for the canonical hand crop
    (:mod:`boneage.framing.canonical`), which is sampled from the film, not from the field."""
    records, splits = dataset_records(directory)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        prepared: Iterator[tuple[np.ndarray, bool]] = pool.map(
            partial(_prepare, side=side), records, chunksize=32
        )
        results = list(tqdm(prepared, total=len(records), desc="decode once", unit="image"))
    cache = ImageCache(
        ids=np.array([r.id for r in records]),
        images=np.stack([image for image, _ in results]),
        age_months=np.array([r.age_months for r in records], dtype=np.float32),
        male=np.array([1.0 if r.sex == "M" else 0.0 for r in records], dtype=np.float32),
        split=np.array([splits.get(r.id, "") for r in records]),
        corrected=np.array([corrected for _, corrected in results]),
        pixel_aspect=read_pixel_aspects(directory, [r.id for r in records]),
    )
    cache.save(out)
    log.info("cached %d images of %s in %s", len(records), directory, out)
    return cache


def at_side(images: np.ndarray, side: int) -> torch.Tensor:
    """uint8 squares (N, S, S) → float32 (N, 1, side, side) in 0..1, area-resized as the CNN
    resizes its input (:class:`boneage.endtoend.cnn.AgeRegressor`), in chunks to bound memory."""
    chunks = []
    for start in range(0, len(images), 512):
        block = torch.from_numpy(images[start : start + 512]).float().div_(255)[:, None]
        if block.shape[-1] != side:
            block = F.interpolate(block, size=(side, side), mode="area")
        chunks.append(block)
    return torch.cat(chunks)

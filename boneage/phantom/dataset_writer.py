"""Writing a phantom dataset: the RSNA layout plus per-bone masks, reproducible from one seed.

Layout written into ``out_dir``::

    labels.csv        id,boneage,male,spacing_mm,laterality,seed
    images/<id>.png   16-bit grayscale, the phantom's 0..1 image times 65535
    masks/<id>.png    8-bit label ids of boneage.phantom.anatomy (0 background)
    dataset.json      generator and version, dataset seed, seed rule, size, n, date, sample seeds

Seeds: sample ``i`` of the dataset with seed ``s`` is phantom ``s * SEEDS_PER_DATASET + i``.
Datasets of different seeds therefore draw from disjoint ranges of phantom seeds and never share
a sample (up to ``SEEDS_PER_DATASET`` samples each), and a smaller dataset of the same seed is a
prefix of a larger one. The phantom seed is also the sample's id, so folders can be merged.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

import boneage
from boneage.errors import DatasetError
from boneage.phantom import generate_phantom
from boneage.training.common.datasets.records import MIN_DATASET_SIDE_PX, Record

SEEDS_PER_DATASET = 1_000_000
"""Width of each dataset's range of phantom seeds, and so the largest dataset one seed gives."""
LABEL_COLUMNS = ("id", "boneage", "male", "spacing_mm", "laterality", "seed")


def sample_seed(dataset_seed: int, index: int) -> int:
    """The phantom seed of sample ``index`` of the dataset with ``dataset_seed``."""
    if dataset_seed < 0 or not 0 <= index < SEEDS_PER_DATASET:
        raise ValueError(
            f"dataset seed must be >= 0 and index within 0..{SEEDS_PER_DATASET - 1},"
            f" got {dataset_seed} and {index}"
        )
    return dataset_seed * SEEDS_PER_DATASET + index


def write_phantom_dataset(
    out_dir: Path | str,
    n: int,
    seed: int,
    size: int = 512,
    *,
    progress: Callable[[int], None] | None = None,
) -> list[Record]:
    """Generate ``n`` phantoms of ``size`` × ``size`` pixels into ``out_dir`` (see the module
    docstring); ``progress(1)`` is called after each sample. Refuses a folder that already holds
    a dataset rather than mixing two."""
    out_dir = Path(out_dir)
    if not 1 <= n <= SEEDS_PER_DATASET:
        raise DatasetError(f"A phantom dataset holds 1 to {SEEDS_PER_DATASET} samples, not {n}.")
    if size < MIN_DATASET_SIDE_PX:
        raise DatasetError(
            f"Phantoms need at least {MIN_DATASET_SIDE_PX} pixels a side to show the bones,"
            f" not {size}."
        )
    if seed < 0:
        raise DatasetError(f"The dataset seed must be 0 or more, not {seed}.")
    if (out_dir / "labels.csv").exists() or (out_dir / "dataset.json").exists():
        raise DatasetError(f"{out_dir} already holds a dataset; choose an empty folder.")
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    (out_dir / "masks").mkdir(exist_ok=True)
    records: list[Record] = []
    for index in range(n):
        records.append(_write_sample(out_dir, sample_seed(seed, index), size))
        if progress is not None:
            progress(1)
    _write_labels(out_dir / "labels.csv", records)
    manifest = {
        "generator": "boneage.phantom.generate_phantom",
        "generator_version": boneage.__version__,
        "dataset_seed": seed,
        "seed_rule": f"sample seed = dataset_seed * {SEEDS_PER_DATASET} + index",
        "n": n,
        "size": size,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "sample_seeds": [record.seed for record in records],
    }
    (out_dir / "dataset.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return records


def _write_sample(out_dir: Path, phantom_seed: int, size: int) -> Record:
    phantom = generate_phantom(phantom_seed, size=size)
    identifier = str(phantom_seed)
    image_path = out_dir / "images" / f"{identifier}.png"
    mask_path = out_dir / "masks" / f"{identifier}.png"
    image = np.round(np.clip(phantom.image, 0.0, 1.0) * 65535.0).astype(np.uint16)
    Image.fromarray(image).save(image_path, format="PNG")
    Image.fromarray(phantom.labels.astype(np.uint8)).save(mask_path, format="PNG")
    return Record(
        id=identifier,
        image_path=image_path,
        age_months=phantom.age_months,
        sex=phantom.sex,
        mask_path=mask_path,
        spacing_mm=phantom.spacing_mm,
        laterality=phantom.laterality,
        seed=phantom_seed,
    )


def _write_labels(path: Path, records: list[Record]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LABEL_COLUMNS)
        for r in records:
            male = "True" if r.sex == "M" else "False"
            writer.writerow(
                [r.id, f"{r.age_months:.4f}", male, f"{r.spacing_mm:.6f}", r.laterality, r.seed]
            )

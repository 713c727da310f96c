"""What every dataset layout yields: records (paths and labels) and cases (pixels loaded).

Indexing a :class:`RecordDataset` gives MONAI-style dictionaries for a ``DataLoader``; iterating
it gives :class:`Case` objects for plain loops.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from boneage.errors import DatasetError, InputError
from boneage.io import read_radiograph

MIN_DATASET_SIDE_PX = 64
"""Dataset images may be smaller than an upload (phantoms are rendered from 64 pixels up)."""


@dataclass(frozen=True)
class Record:
    """One case of a dataset: where its image is and what is known about it.

    ``age_months`` is the bone-age label (ground truth), ``chronological_age_months`` the age at
    the study (DICOM tags); either is ``None`` when the dataset does not give it. ``spacing_mm``
    is the mean pixel spacing in millimetres.
    """

    id: str
    image_path: Path
    age_months: float | None
    sex: str | None
    mask_path: Path | None = None
    spacing_mm: float | None = None
    laterality: str | None = None
    seed: int | None = None
    chronological_age_months: float | None = None


@dataclass(frozen=True)
class Case:
    """A record with its pixels loaded: ``pixels`` float32 (H, W) 0..1 bone bright, ``labels``
    uint8 (H, W) label ids of :mod:`boneage.phantom.anatomy`, or ``None`` without a mask."""

    record: Record
    pixels: np.ndarray
    labels: np.ndarray | None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def age_months(self) -> float | None:
        return self.record.age_months

    @property
    def sex(self) -> str | None:
        return self.record.sex

    @property
    def spacing_mm(self) -> float | None:
        return self.record.spacing_mm

    def to_dict(self) -> dict[str, Any]:
        """MONAI-style sample with channel-first arrays. Unknown numbers are NaN and an unknown
        sex is "", so that the default collate batches every case of a dataset alike."""
        record = self.record
        item: dict[str, Any] = {
            "image": self.pixels[np.newaxis],
            "id": record.id,
            "age_months": _nan_if_none(record.age_months),
            "sex": record.sex or "",
            "male": math.nan if record.sex is None else float(record.sex == "M"),
            "spacing_mm": _nan_if_none(record.spacing_mm),
            "chronological_age_months": _nan_if_none(record.chronological_age_months),
        }
        if self.labels is not None:
            item["label"] = self.labels[np.newaxis].astype(np.int64)
        return item


def load_case(record: Record) -> Case:
    """Read a record's image (through :func:`boneage.io.read_radiograph`) and its mask."""
    try:
        pixels = read_radiograph(record.image_path, min_side=MIN_DATASET_SIDE_PX).pixels
    except InputError as error:
        raise DatasetError(f"Image of case {record.id} ({record.image_path}): {error}") from error
    labels = None
    if record.mask_path is not None:
        with Image.open(record.mask_path, formats=["PNG"]) as mask:
            labels = np.asarray(mask, dtype=np.uint8)
        if labels.shape != pixels.shape:
            raise DatasetError(
                f"The mask of case {record.id} is {labels.shape} pixels, its image {pixels.shape}."
            )
    return Case(record=record, pixels=pixels, labels=labels)


class RecordDataset(torch.utils.data.Dataset):
    """Records of any layout: ``dataset[i]`` is a MONAI dictionary (after ``transform``, a MONAI
    dictionary transform say); ``for case in dataset`` gives :class:`Case` objects."""

    def __init__(
        self,
        records: Sequence[Record],
        *,
        transform: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.records = list(records)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Any:
        item = load_case(self.records[index]).to_dict()
        return self.transform(item) if self.transform is not None else item

    def __iter__(self) -> Iterator[Case]:
        return (load_case(record) for record in self.records)


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else float(value)

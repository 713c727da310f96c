"""Datasets on disk: RSNA layout, phantom folders, folders of DICOM files.

Phantom folders are written by :mod:`boneage.phantom.dataset_writer`.

Every layout gives :class:`Record` objects (paths and labels). A :class:`RecordDataset` (and its
layouts :class:`RsnaDataset`, :class:`PhantomDataset`) is a ``torch.utils.data.Dataset``:
``dataset[i]`` is a MONAI-style dictionary ``{"image": (1, H, W) float32, "label": (1, H, W)
int64 (phantoms), "age_months", "male", "sex", "spacing_mm", "id", ...}``, and
``for case in dataset`` gives :class:`Case` objects with ``pixels`` and ``labels`` arrays.
Images are read through :func:`boneage.io.read_radiograph`, so a dataset image is scaled exactly
as an upload is.
"""

from __future__ import annotations

from boneage.training.common.datasets.dicom_folder import DicomFolder, read_dicom_folder
from boneage.training.common.datasets.records import Case, Record, RecordDataset, load_case
from boneage.training.common.datasets.rsna import (
    PhantomDataset,
    RsnaDataset,
    parse_age_months,
    parse_sex,
    read_phantom_folder,
    read_rsna_labels,
)

__all__ = [
    "Case",
    "DicomFolder",
    "PhantomDataset",
    "Record",
    "RecordDataset",
    "RsnaDataset",
    "load_case",
    "parse_age_months",
    "parse_sex",
    "read_dicom_folder",
    "read_phantom_folder",
    "read_rsna_labels",
]

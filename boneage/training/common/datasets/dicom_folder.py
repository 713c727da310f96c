"""A folder of DICOM files as a dataset: sex and chronological age from the tags.

Clinical exports come as folders of DICOM files with arbitrary names (often no extension) mixed
with DICOMDIR indexes, reports and stray files. Each file's type is sniffed from its bytes and
its header read without pixel data; anything that is not a DICOM image is skipped and listed with
the reason, so that a caller can show what was left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from boneage.errors import DatasetError, InputError
from boneage.io.dicom import header_facts, read_header
from boneage.io.sniff import sniff_format
from boneage.training.common.datasets.records import Record
from boneage.training.common.datasets.rsna import read_rsna_labels

_SNIFF_BYTES = 4096
"""Enough of a file to recognise DICOM, with or without the Part 10 preamble."""


@dataclass(frozen=True)
class DicomFolder:
    """The DICOM images found under a folder, and every file skipped with the reason why."""

    records: list[Record]
    skipped: list[tuple[Path, str]]


def read_dicom_folder(directory: Path, *, labels_csv: Path | None = None) -> DicomFolder:
    """Walk ``directory`` (all depths) for DICOM images.

    A labels CSV (``labels_csv``, or ``directory/labels.csv`` when present) in one of the RSNA
    layouts, keyed by file stem, adds the bone-age label and fills a sex the tags lack; a sex that
    contradicts the tags is a :class:`DatasetError`. Labels rows without a DICOM file are
    allowed (the CSV may cover several folders).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetError(f"{directory} is not a folder.")
    if labels_csv is None and (directory / "labels.csv").is_file():
        labels_csv = directory / "labels.csv"
    labels: dict[str, Record] = {}
    if labels_csv is not None:
        labels = {r.id: r for r in read_rsna_labels(labels_csv, directory, require_images=False)}
    records: list[Record] = []
    skipped: list[tuple[Path, str]] = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        if labels_csv is not None and path.resolve() == Path(labels_csv).resolve():
            continue
        reason = _not_a_dicom_image(path)
        if reason is not None:
            skipped.append((path, reason))
            continue
        records.append(_record(path, labels.get(path.stem), labels_csv))
    return DicomFolder(records=records, skipped=skipped)


def _record(path: Path, label: Record | None, labels_csv: Path | None) -> Record:
    facts = header_facts(read_header(path))
    if label is not None and facts.sex and facts.sex != label.sex:
        raise DatasetError(f"{path}: the tags say sex {facts.sex}, {labels_csv} says {label.sex}.")
    return Record(
        id=path.stem,
        image_path=path,
        age_months=label.age_months if label else None,
        sex=facts.sex or (label.sex if label else None),
        spacing_mm=float(np.mean(facts.spacing_mm)) if facts.spacing_mm else None,
        laterality=facts.laterality,
        chronological_age_months=facts.age_months,
    )


def _not_a_dicom_image(path: Path) -> str | None:
    """Why ``path`` is not a DICOM image, or None when it is one."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
        if sniff_format(head) != "DICOM":
            return "not DICOM"
        header = read_header(path)
    except InputError as error:
        return str(error)
    except OSError as error:
        return f"cannot be opened ({error.strerror})"
    return None if "Rows" in header else "DICOM without an image"

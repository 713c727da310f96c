"""The RSNA Pediatric Bone Age layout, and phantom folders (the same layout plus masks).

RSNA layout (Halabi et al., Radiology 2019;290:498-503): a CSV of labels and a folder of
``<id>.png``. The three CSVs of the challenge use three headers, each recognised here:

==========================  ============================  ====================================
set                         id, bone age (months)         sex
==========================  ============================  ====================================
training                    ``id``, ``boneage``           ``male`` (True/False)
validation                  ``Image ID``,                 ``male`` (TRUE/FALSE)
                            ``Bone Age (months)``
test                        ``Case ID``, ``Ground truth   ``Sex`` (M/F)
                            bone age (months)``
==========================  ============================  ====================================

A phantom folder adds ``masks/<id>.png`` and ``dataset.json`` and the columns ``spacing_mm``,
``laterality`` and ``seed`` (see :mod:`boneage.phantom.dataset_writer`).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from boneage.errors import DatasetError, technical_detail
from boneage.training.common.datasets.records import Record, RecordDataset

MAX_AGE_MONTHS = 240.0
"""Bone ages above 20 years are not a child's; such a label is a data error."""
RSNA_HEADERS: tuple[tuple[str, str, str], ...] = (
    ("id", "boneage", "male"),
    ("Image ID", "Bone Age (months)", "male"),
    ("Case ID", "Ground truth bone age (months)", "Sex"),
)
"""(id, bone age in months, sex) columns of the three RSNA CSV variants."""
_PROBLEMS_SHOWN = 5


RSNA_TERMS = (
    "RSNA Pediatric Bone Age Challenge 2017 training images (Halabi et al., Radiology "
    "2019;290:498-503), offered by RSNA for non-commercial research and education; bone ages as "
    "read by the RSNA reference readers"
)
"""How every card of a model trained or fitted on the RSNA films names them and their terms."""


class RsnaDataset(RecordDataset):
    """An RSNA-layout folder: ``labels_csv`` (default ``directory/labels.csv``, else the folder's
    only CSV) and ``images_dir`` (default ``directory/images`` if it exists, else ``directory``);
    with ``split``, only the images ``directory/split.csv`` assigns to it."""

    def __init__(
        self,
        directory: Path | str,
        *,
        labels_csv: Path | str | None = None,
        images_dir: Path | str | None = None,
        split: str | None = None,
        transform: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        directory = Path(directory)
        csv_path = Path(labels_csv) if labels_csv is not None else _find_csv(directory)
        if images_dir is None:
            images_dir = directory / "images" if (directory / "images").is_dir() else directory
        records = read_rsna_labels(csv_path, Path(images_dir))
        if split is not None:
            records = select_split(records, directory / "split.csv", split)
        super().__init__(records, transform=transform)


def select_split(records: list[Record], split_csv: Path, split: str) -> list[Record]:
    """The records that ``split_csv`` assigns to ``split``; a clear error when there are none."""
    if not split_csv.is_file():
        raise DatasetError(f"--split {split} needs {split_csv} (columns id,split); it is missing.")
    assigned = read_split(split_csv)
    chosen = [r for r in records if assigned.get(r.id) == split]
    if not chosen:
        names = ", ".join(sorted(set(assigned.values()))) or "none"
        raise DatasetError(f"{split_csv} assigns no image to {split!r} (its splits: {names}).")
    return chosen


class PhantomDataset(RecordDataset):
    """A phantom folder: images, masks (as ``"label"``) and their labels."""

    def __init__(
        self,
        directory: Path | str,
        *,
        transform: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        super().__init__(read_phantom_folder(Path(directory)), transform=transform)


def read_rsna_labels(
    csv_path: Path, images_dir: Path, *, require_images: bool = True
) -> list[Record]:
    """Records of an RSNA CSV whose images are ``images_dir/<id>.png``.

    Raises :class:`DatasetError` for an unknown header, bad values (with their lines) or, when
    ``require_images``, missing images (naming the first few).
    """
    rows, columns = _read_csv(csv_path)
    id_column, age_column, sex_column = _variant(columns, csv_path)
    problems: list[str] = []
    records: list[Record] = []
    seen: set[str] = set()
    for line, row in rows:
        try:
            identifier = _identifier(row[id_column], seen)
            records.append(
                Record(
                    id=identifier,
                    image_path=image_path(images_dir, identifier),
                    age_months=parse_age_months(row[age_column]),
                    sex=parse_sex(row[sex_column]),
                    spacing_mm=_optional_float(row.get("spacing_mm"), "spacing_mm"),
                    laterality=_laterality(row.get("laterality")),
                    seed=_optional_int(row.get("seed"), "seed"),
                )
            )
        except ValueError as error:
            problems.append(f"line {line}: {error}")
    raise_problems(problems, f"{csv_path} has bad values")
    missing = [r.image_path.name for r in records if require_images and not r.image_path.is_file()]
    raise_problems(missing, f"{len(missing)} images listed in {csv_path} are not in {images_dir}")
    return records


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
"""Image files an RSNA-layout folder may hold: the challenge's PNGs, or JPEG copies of them."""


def image_path(images_dir: Path, identifier: str) -> Path:
    """``images_dir/<id>.png``, or the JPEG of that id when only a JPEG is there."""
    for suffix in IMAGE_SUFFIXES:
        candidate = images_dir / f"{identifier}{suffix}"
        if candidate.is_file():
            return candidate
    return images_dir / f"{identifier}.png"


def read_split(csv_path: Path) -> dict[str, str]:
    """``id → split name`` from a ``split.csv`` of ``id,split`` rows (``train``, ``val``...)."""
    rows, columns = _read_csv(csv_path)
    if not {"id", "split"} <= set(columns):
        raise DatasetError(f"{csv_path} needs the columns id,split; it has {','.join(columns)}.")
    return {row["id"].strip(): row["split"].strip() for _, row in rows}


def read_phantom_folder(directory: Path) -> list[Record]:
    """Records of a phantom folder, each with its mask; every image and mask must exist."""
    if not (directory / "dataset.json").is_file():
        raise DatasetError(f"{directory} is not a phantom folder (it has no dataset.json).")
    records = read_rsna_labels(directory / "labels.csv", directory / "images")
    masks = directory / "masks"
    with_masks = [replace(r, mask_path=masks / f"{r.id}.png") for r in records]
    missing = [f"{r.id}.png" for r in with_masks if not (masks / f"{r.id}.png").is_file()]
    raise_problems(missing, f"{len(missing)} masks are missing from {masks}")
    return with_masks


def parse_sex(value: str | None) -> str:
    """ "F" or "M" from the RSNA spellings: male True/False (any case, or 1/0) or Sex M/F."""
    text = (value or "").strip().upper()
    if text in ("TRUE", "1", "M", "MALE"):
        return "M"
    if text in ("FALSE", "0", "F", "FEMALE"):
        return "F"
    raise ValueError(f"sex {value!r} is neither male nor female (True/False or M/F)")


def parse_age_months(value: str | None) -> float:
    """A bone age in months, within 0..240."""
    try:
        months = float(value or "")
    except ValueError:
        raise ValueError(f"bone age {value!r} is not a number of months") from None
    if not 0.0 <= months <= MAX_AGE_MONTHS:
        raise ValueError(f"bone age {value!r} months is outside 0-{MAX_AGE_MONTHS:g}")
    return months


def raise_problems(problems: list[str], summary: str) -> None:
    """One :class:`DatasetError` naming the first few problems and counting the rest."""
    if problems:
        shown = ", ".join(problems[:_PROBLEMS_SHOWN])
        extra = len(problems) - _PROBLEMS_SHOWN
        raise DatasetError(f"{summary}: {shown}" + (f" and {extra} more." if extra > 0 else "."))


def _read_csv(csv_path: Path) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """Rows with their line numbers, and the header; ``utf-8-sig`` accepts Excel's BOM."""
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
            rows = [(reader.line_num, row) for row in reader]
            return rows, list(reader.fieldnames)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(
            f"The labels file {csv_path} cannot be read ({technical_detail(error)})."
        ) from error


def _variant(columns: list[str], csv_path: Path) -> tuple[str, str, str]:
    for variant in RSNA_HEADERS:
        if set(variant) <= set(columns):
            return variant
    known = " or ".join(",".join(v) for v in RSNA_HEADERS)
    raise DatasetError(
        f"{csv_path} has the columns {','.join(columns) or '(none)'}, which is not an RSNA"
        f" layout; expected {known}."
    )


def _identifier(value: str | None, seen: set[str]) -> str:
    identifier = (value or "").strip()
    if not identifier or "/" in identifier or "\\" in identifier or identifier.startswith("."):
        raise ValueError(f"image id {value!r} is not a plain file name")
    if identifier in seen:
        raise ValueError(f"image id {identifier!r} appears twice")
    seen.add(identifier)
    return identifier


def _optional_float(value: str | None, name: str) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a number") from None
    if not number > 0:
        raise ValueError(f"{name} {value!r} is not positive")
    return number


def _optional_int(value: str | None, name: str) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a whole number") from None


def _laterality(value: str | None) -> str | None:
    text = (value or "").strip().upper()
    if text and text not in ("L", "R"):
        raise ValueError(f"laterality {value!r} is neither L nor R")
    return text or None


def _find_csv(directory: Path) -> Path:
    if (directory / "labels.csv").is_file():
        return directory / "labels.csv"
    found = sorted(directory.glob("*.csv"))
    if len(found) != 1:
        raise DatasetError(
            f"{directory} holds {len(found)} CSV files; name the labels file (labels_csv=...)."
        )
    return found[0]

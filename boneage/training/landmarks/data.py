"""Annotated real hands as the landmark U-Net reads them: model inputs, region maps, landmarks.

An RSNA-layout folder may hold, beside ``labels.csv`` and ``images/``:

- ``keypoints.csv``: per id, 21 points in pixels of the image (``wrist_x``, ``wrist_y``,
  ``thumb1_x`` … ``pinky_finger4_y``; the thumb numbered base of metacarpal 1, MCP, IP, tip, each
  finger MCP, PIP, DIP, tip);
- ``roi_masks/<id>.png``: a label map of the image's size, bit 1 the joint regions and bit 2 the
  epiphyses and carpal bones.

Each annotated image goes through the runtime's own framing
(:func:`boneage.quality.orientation.orient`, :func:`boneage.framing.field.field_square`) and its
annotations through the same crop and scale, so the network trains on exactly what it reads at
inference.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from boneage.framing.field import Framed, field_square
from boneage.multistep.landmarks import FINGERS, INPUT_SIDE, LANDMARKS
from boneage.quality.orientation import orient
from boneage.training.common.arrays import SavedArrays
from boneage.training.common.datasets.records import load_case
from boneage.training.common.datasets.rsna import read_rsna_labels, read_split

_CSV_DIGITS = {"thumb": "thumb", "index": "forefinger", "middle": "middle_finger"} | {
    "ring": "ring_finger",
    "little": "pinky_finger",
}
_JOINT_NUMBER = {"cmc": 1, "mcp": 1, "pip": 2, "dip": 3, "tip": 4}
_THUMB_NUMBER = {"cmc": 1, "mcp": 2, "ip": 3, "tip": 4}


def csv_column(landmark: str) -> str:
    """The ``keypoints.csv`` column stem of a :data:`~boneage.landmarks.LANDMARKS` name."""
    if landmark == "wrist":
        return "wrist"
    finger, joint = landmark.split("_")
    assert finger in FINGERS
    number = _THUMB_NUMBER[joint] if finger == "thumb" else _JOINT_NUMBER[joint]
    return f"{_CSV_DIGITS[finger]}{number}"


@dataclass(frozen=True)
class AnnotatedHands(SavedArrays):
    """Model inputs (uint8, N x S x S), region bits (uint8, bit 1 joint, bit 2 epiphysis; 0 where
    the hand has no mask), landmarks (float32, N x 21 x 2 as row, column at the input; NaN
    without keypoints), which annotations each hand has, and its id, age and sex."""

    ids: np.ndarray
    images: np.ndarray
    regions: np.ndarray
    landmarks: np.ndarray
    has_regions: np.ndarray
    has_landmarks: np.ndarray
    age_months: np.ndarray
    male: np.ndarray

    compressed = True


def read_keypoints(path: Path) -> dict[str, np.ndarray]:
    """Per id, the 21 landmarks as (x, y) in image pixels, in :data:`LANDMARKS` order."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = [csv_column(name) for name in LANDMARKS]
    return {
        row["id"]: np.array(
            [[float(row[f"{c}_x"]), float(row[f"{c}_y"])] for c in columns], dtype=np.float32
        )
        for row in rows
    }


def frame_points(points_xy: np.ndarray, prepared: Framed) -> np.ndarray:
    """Image (x, y) points → (row, column) at the model input framed by ``prepared``."""
    row0, col0, _, _ = prepared.crop_box
    rows = (points_xy[:, 1] + 0.5 - row0) * prepared.scale - 0.5
    cols = (points_xy[:, 0] + 0.5 - col0) * prepared.scale - 0.5
    return np.stack([rows, cols], axis=1).astype(np.float32)


def frame_mask(mask: np.ndarray, prepared: Framed, side: int) -> np.ndarray:
    """A label map of the source image cut and scaled as ``prepared`` framed the image
    (nearest neighbour; 0 outside the image)."""
    row0, col0, _, _ = prepared.crop_box
    centres = (np.arange(side) + 0.5) / prepared.scale - 0.5
    rows = np.round(centres + row0).astype(int)
    cols = np.round(centres + col0).astype(int)
    inside_r = (rows >= 0) & (rows < mask.shape[0])
    inside_c = (cols >= 0) & (cols < mask.shape[1])
    out = np.zeros((side, side), dtype=np.uint8)
    out[np.ix_(inside_r, inside_c)] = mask[np.ix_(rows[inside_r], cols[inside_c])]
    return out


def load_annotated(
    directory: Path, split: str, *, side: int = INPUT_SIDE, limit: int | None = None
) -> AnnotatedHands:
    """Every hand of ``split`` in ``directory`` that has keypoints or a region mask."""
    images_dir = directory / "images" if (directory / "images").is_dir() else directory
    records = {r.id: r for r in read_rsna_labels(directory / "labels.csv", images_dir)}
    splits = read_split(directory / "split.csv")
    keypoints_csv = directory / "keypoints.csv"
    keypoints = read_keypoints(keypoints_csv) if keypoints_csv.is_file() else {}
    masks_dir = directory / "roi_masks"
    masks = {p.stem: p for p in masks_dir.glob("*.png")} if masks_dir.is_dir() else {}
    ids = sorted(
        (i for i in set(keypoints) | set(masks) if i in records and splits.get(i) == split),
        key=lambda i: (len(i), i),
    )[:limit]
    images, regions, landmarks = [], [], []
    for hand_id in tqdm(ids, desc=f"annotated {split} hands", unit="hand"):
        case = load_case(records[hand_id])
        prepared = field_square(orient(case.pixels).as_acquired, size=side)
        images.append(np.round(prepared.image * 255).astype(np.uint8))
        if hand_id in masks:
            mask = np.asarray(Image.open(masks[hand_id]))
            regions.append(frame_mask(mask & 3, prepared, side))
        else:
            regions.append(np.zeros((side, side), np.uint8))
        if hand_id in keypoints:
            landmarks.append(frame_points(keypoints[hand_id], prepared))
        else:
            landmarks.append(np.full((len(LANDMARKS), 2), np.nan, np.float32))
    return AnnotatedHands(
        ids=np.array(ids),
        images=np.stack(images),
        regions=np.stack(regions),
        landmarks=np.stack(landmarks),
        has_regions=np.array([i in masks for i in ids]),
        has_landmarks=np.array([i in keypoints for i in ids]),
        age_months=np.array([records[i].age_months for i in ids], np.float32),
        male=np.array([records[i].sex == "M" for i in ids], np.float32),
    )

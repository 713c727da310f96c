"""The overlay a clinician checks the multi-step estimate against: segmented bones, named, measured.

Each bone is tinted in its own colour over the preprocessed radiograph with its outline drawn
(scikit-image ``label2rgb`` and ``find_boundaries``); long bones carry a short name and their
length (mm when the spacing is known, else the ratio to ``metacarpal_3``); bones set aside as
outliers are outlined and labelled in red. The image is drawn at :data:`UPSCALE` times the
preprocessed size so that the labels (Pillow's built-in bitmap font) stay legible.

On real films the landmark U-Net's map is drawn instead (:func:`render_hand_overlay`): joint
regions, the ossified centres in them, and each measured bone from joint centre to joint centre.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable

import numpy as np
from PIL import Image, ImageDraw
from skimage.color import label2rgb
from skimage.segmentation import find_boundaries

from boneage.anatomy import BY_NAME, NUM_CLASSES
from boneage.hand_measure import BONES, HandMeasurements
from boneage.landmarks import HandMap
from boneage.measure import BoneMeasurement, Measurements

UPSCALE = 2
OUTLIER_RGB = (255, 40, 40)
_PALETTE = [
    tuple(int(255 * c) for c in colorsys.hsv_to_rgb(h, 0.75, 1.0))
    for h in (np.arange(NUM_CLASSES - 1) * 0.618034) % 1.0
]
"""One colour per label, golden-ratio spaced hues so that neighbouring label ids differ."""

_PREFIXES = {
    "metacarpal": "MC",
    "proximal_phalanx": "PP",
    "middle_phalanx": "MP",
    "distal_phalanx": "DP",
    "radius": "R",
    "ulna": "U",
}


def short_name(bone: str) -> str:
    """``metacarpal_3`` → ``MC3``, ``radius`` → ``R``; carpals by their first three letters."""
    stem, _, ray = bone.rpartition("_") if bone[-1].isdigit() else (bone, "", "")
    return _PREFIXES.get(stem, bone[:3].capitalize()) + ray


def _caption(measurement: BoneMeasurement) -> str:
    name = short_name(measurement.bone)
    if measurement.length_mm is not None:
        return f"{name} {measurement.length_mm:.0f}mm"
    if measurement.length_ratio is not None:
        return f"{name} {measurement.length_ratio:.2f}"
    return name


def render_overlay(
    image: np.ndarray,
    labels: np.ndarray,
    measurements: Measurements,
    outliers: Iterable[str] = (),
) -> np.ndarray:
    """RGB uint8 (UPSCALE·H, UPSCALE·W, 3) overlay of ``labels`` on ``image`` (float 0..1)."""
    image = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    labels = np.asarray(labels)
    big_image = np.kron(image, np.ones((UPSCALE, UPSCALE), np.float32))
    big_labels = np.kron(labels, np.ones((UPSCALE, UPSCALE), labels.dtype))
    present = [int(v) for v in np.unique(big_labels) if v != 0]
    colors = [np.array(_PALETTE[v - 1]) / 255.0 for v in present]
    rgb = (
        label2rgb(
            big_labels,
            image=big_image,
            colors=colors,
            alpha=0.3,
            bg_label=0,
            image_alpha=1.0,
            kind="overlay",
        )
        if present
        else np.stack([big_image] * 3, -1)
    )
    rgb = (np.clip(rgb, 0.0, 1.0) * 255).astype(np.uint8)
    edges = find_boundaries(big_labels, mode="inner")
    for value in present:
        rgb[edges & (big_labels == value)] = _PALETTE[value - 1]
    outliers = set(outliers)
    for bone in outliers:
        if bone in BY_NAME:
            rgb[edges & (big_labels == BY_NAME[bone].label)] = OUTLIER_RGB
    canvas = Image.fromarray(rgb)
    draw = ImageDraw.Draw(canvas)
    for measurement in measurements.bones.values():
        if measurement.kind == "epiphysis":
            continue
        row, col = (UPSCALE * c for c in measurement.centroid_px)
        colour = OUTLIER_RGB if measurement.bone in outliers else (255, 255, 255)
        draw.text(
            (col + 4, row - 5),
            _caption(measurement),
            fill=colour,
            stroke_width=1,
            stroke_fill=(0, 0, 0),
        )
    return np.asarray(canvas, dtype=np.uint8)


JOINT_RGB = np.array([60, 120, 255], np.float32)
EPIPHYSIS_RGB = np.array([255, 150, 30], np.float32)
BONE_RGB = (90, 255, 120)


def render_hand_overlay(
    image: np.ndarray, hand: HandMap, measurements: HandMeasurements, outliers: Iterable[str] = ()
) -> np.ndarray:
    """RGB uint8 (UPSCALE·H, UPSCALE·W, 3) of what the landmark U-Net found on a whole film:
    joint regions tinted blue, the epiphyses and carpal bones inside them orange, each measured
    bone drawn from joint centre to joint centre with its short name, outliers in red."""
    image = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    rgb = np.stack([np.kron(image, np.ones((UPSCALE, UPSCALE), np.float32)) * 255] * 3, -1)
    for mask, colour, alpha in ((hand.joint, JOINT_RGB, 0.3), (hand.epiphysis, EPIPHYSIS_RGB, 0.5)):
        big = np.kron(mask, np.ones((UPSCALE, UPSCALE), bool)).astype(bool)
        rgb[big] = (1 - alpha) * rgb[big] + alpha * colour
    canvas = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    outliers = set(outliers)
    points = {name: (UPSCALE * lm.col, UPSCALE * lm.row) for name, lm in hand.landmarks.items()}
    for bone in measurements.lengths_px:
        start, end = (points[p] for p in BONES[bone])
        colour = OUTLIER_RGB if bone in outliers else BONE_RGB
        draw.line([start, end], fill=colour, width=2)
        for x, y in (start, end):
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], outline=colour, width=1)
        middle = ((start[0] + end[0]) / 2 + 5, (start[1] + end[1]) / 2 - 5)
        draw.text(middle, short_name(bone), fill=colour, stroke_width=1, stroke_fill=(0, 0, 0))
    return np.asarray(canvas, dtype=np.uint8)

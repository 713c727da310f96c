"""The phantom era's overlay: segmented bones tinted and outlined, named and measured.

Each bone is tinted in its own colour over the hand crop with its outline drawn (scikit-image
``label2rgb`` and ``find_boundaries``); long bones carry a short name and their length (mm when
the spacing is known, else the ratio to ``metacarpal_3``); bones set aside as outliers are
outlined and labelled in red.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable

import numpy as np
from PIL import Image, ImageDraw
from skimage.color import label2rgb
from skimage.segmentation import find_boundaries

from boneage.multistep.overlay import OUTLIER_RGB, UPSCALE, short_name
from boneage.phantom.anatomy import BY_NAME, NUM_CLASSES
from boneage.phantom.measure import BoneMeasurement, Measurements

_PALETTE = [
    tuple(int(255 * c) for c in colorsys.hsv_to_rgb(h, 0.75, 1.0))
    for h in (np.arange(NUM_CLASSES - 1) * 0.618034) % 1.0
]
"""One colour per label, golden-ratio spaced hues so that neighbouring label ids differ."""


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

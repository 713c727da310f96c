"""The overlay a clinician checks the multi-step estimate against: what the landmark U-Net found.

Drawn on the framed film at :data:`UPSCALE` times its size, so that the labels (Pillow's built-in
bitmap font) stay legible: joint regions, the ossified centres in them, and each measured bone
from joint centre to joint centre with its short name; bones set aside as outliers in red.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PIL import Image, ImageDraw

from boneage.multistep.landmarks import HandMap
from boneage.multistep.measure import BONES, HandMeasurements

UPSCALE = 2
OUTLIER_RGB = (255, 40, 40)
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

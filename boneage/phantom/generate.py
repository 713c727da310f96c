"""One synthetic hand radiograph with its per-bone label mask, deterministic by seed.

Order of work: draw age, sex and the child's individual variation; sample bone lengths from the
anatomy reference; choose the field of view so that the hand and some forearm fill the image; lay
the skeleton out in millimetres; place it with a random pose (rotation, scale, position); render
bone and soft-tissue thickness on bounding boxes; expose and display; mirror a right hand; add
collimation, side letter and ruler. Every random choice comes from one ``numpy`` generator seeded
by ``seed``, so the same seed (and the same age/sex arguments) gives the same phantom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from boneage.phantom import markers, render
from boneage.phantom.acquisition import Acquisition, expose
from boneage.phantom.primitives import Tube
from boneage.phantom.skeleton import (
    Maturity,
    build_skeleton,
    hand_extent_mm,
    sample_lengths,
)

MAX_AGE_MONTHS = 216.0
"""Ages drawn when none is given are uniform on 0-216 months (0-18 years)."""
_MIN_GAP_PX = 2.2
"""An open physis is at least this many pixels wide, so that its epiphysis and metaphysis masks
never touch (8-connectivity) while it is open: the mask's way of telling open from fused."""
_SOFT_DOWNSAMPLE = 4
"""Soft tissue varies slowly: it is rendered at a quarter of the resolution and interpolated up."""


@dataclass(frozen=True)
class Phantom:
    """A synthetic radiograph: ``image`` float32 (H, W) 0..1 bone bright; ``labels`` uint8 (H, W)
    with the label ids of :mod:`boneage.phantom.anatomy` (0 background), aligned pixel for pixel;
    ``age_months`` the skeletal age the hand was built at; ``laterality`` the hand as acquired (a
    right hand is the mirror image of a left); ``spacing_mm`` the isotropic pixel spacing."""

    image: np.ndarray
    labels: np.ndarray
    age_months: float
    sex: str
    laterality: str
    spacing_mm: float
    seed: int


def _pose(
    rng: np.random.Generator, size: int, extent_mm: float
) -> tuple[float, float, np.ndarray, float]:
    """(spacing mm/px, rotation rad, centre shift px, visible forearm mm) of a hand whose
    wrist-to-fingertip ``extent_mm`` plus some forearm should fill 75-90 % of the image height."""
    forearm_mm = extent_mm * rng.uniform(0.1, 0.35)
    spacing = (extent_mm + forearm_mm) / (rng.uniform(0.75, 0.9) * size)
    rotation = float(np.deg2rad(np.clip(rng.normal(0.0, 9.0), -25.0, 25.0)))
    shift = rng.uniform(-0.04, 0.04, 2) * size
    return float(spacing), rotation, shift, float(forearm_mm)


def generate_phantom(
    seed: int, *, age_months: float | None = None, sex: str | None = None, size: int = 512
) -> Phantom:
    """A phantom of a child's hand radiograph (see :class:`Phantom`).

    ``age_months`` and ``sex`` are drawn from ``seed`` when None (age uniform 0-216 months, sex
    50/50); ``size`` is the side of the square image in pixels.
    """
    if sex is not None and sex not in ("F", "M"):
        raise ValueError(f"sex must be 'F' or 'M', got {sex!r}")
    if size < 64:
        raise ValueError(f"size must be at least 64 pixels to show a hand's bones, got {size}")
    if age_months is not None and not 0.0 <= age_months <= 240.0:
        raise ValueError(f"age_months must be within 0-240, got {age_months}")
    rng = np.random.default_rng(seed)
    drawn_age, drawn_sex = float(rng.uniform(0.0, MAX_AGE_MONTHS)), str(rng.choice(["F", "M"]))
    age = drawn_age if age_months is None else float(age_months)
    sex = drawn_sex if sex is None else sex
    laterality = "R" if rng.random() < 0.5 else "L"

    maturity = Maturity.draw(rng)
    lengths = sample_lengths(age, sex, maturity, rng)
    extent = hand_extent_mm(lengths)
    spacing, rotation, shift, forearm = _pose(rng, size, extent)
    skeleton = build_skeleton(
        age,
        sex,
        lengths,
        maturity,
        min_gap_mm=_MIN_GAP_PX * spacing,
        spread=float(rng.uniform()),
        rng=rng,
    )

    cos, sin = np.cos(rotation), np.sin(rotation)
    matrix = np.array([[cos, sin], [sin, -cos]]) / spacing  # y up in the hand, rows down
    centre = np.array([size / 2.0, size / 2.0]) + shift
    offset = centre - matrix @ np.array([0.0, (extent - forearm) / 2.0])

    bone = np.zeros((size, size), np.float32)
    labels = np.zeros((size, size), np.uint8)
    for shape in skeleton.bones:
        placed = shape.transformed(matrix, offset, 1.0 / spacing)
        (render.draw_tube if isinstance(placed, Tube) else render.draw_blob)(placed, bone, labels)

    low = -(-size // _SOFT_DOWNSAMPLE)
    soft_low = np.zeros((low, low), np.float32)
    shrink = 1.0 / _SOFT_DOWNSAMPLE
    low_offset = (offset - (_SOFT_DOWNSAMPLE - 1) / 2.0) * shrink
    for capsule in skeleton.soft_tissue:
        render.draw_capsule(
            capsule.transformed(matrix * shrink, low_offset, shrink / spacing), soft_low
        )
    soft_low = ndimage.gaussian_filter(soft_low, 0.4)
    soft = render.upsample(soft_low, (size, size))
    soft *= spacing * _SOFT_DOWNSAMPLE  # chords were in low-resolution pixels

    image = expose(bone * spacing, soft, Acquisition.draw(rng), rng)
    if laterality == "R":
        image, labels, soft = image[:, ::-1].copy(), labels[:, ::-1].copy(), soft[:, ::-1]
    busy = soft.copy()
    if rng.random() < 0.5:
        busy += 1000.0 * markers.collimate(image, labels, soft, rng)
    markers.burn_letter(image, labels, busy, laterality, rng)
    if rng.random() < 0.3:
        markers.burn_ruler(image, labels, busy, spacing, rng)
    return Phantom(image, labels, age, sex, laterality, spacing, int(seed))

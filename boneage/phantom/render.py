"""Rasterise the phantom's shapes: projected bone thickness and the label mask from the same
geometry, so that image and labels are aligned by construction.

Each shape is drawn on its own bounding box with vectorised numpy (a pixel loop over 512x512 would
miss the speed budget by two orders of magnitude). Coordinates are pixels, (column, row), with the
pixel centre at integer coordinates. Bone thickness is in "cortical-bone millimetres" scaled to
pixels: the projected path length through cortex counts fully, through cancellous bone or marrow
partly, so cortex shows brighter than medulla as on a radiograph.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from boneage.phantom.primitives import Blob, Capsule, Tube

_MARROW_DENSITY = 0.18
"""Density of the shaft's medulla relative to cortex (marrow and sparse trabeculae)."""
_CANCELLOUS_DENSITY = 0.5
"""Density of the cancellous bone at the ends and in carpals/epiphyses relative to cortex."""


def _grid(
    shape: tuple[int, int], lo: np.ndarray, hi: np.ndarray
) -> tuple[slice, slice, np.ndarray, np.ndarray] | None:
    """Pixel slices and broadcastable coordinates (a row of x, a column of y) of the box
    ``lo``-``hi`` (x, y), clipped to ``shape``."""
    x0, y0 = max(int(np.floor(lo[0])), 0), max(int(np.floor(lo[1])), 0)
    x1, y1 = min(int(np.ceil(hi[0])) + 1, shape[1]), min(int(np.ceil(hi[1])) + 1, shape[0])
    if x0 >= x1 or y0 >= y1:
        return None
    xs = np.arange(x0, x1, dtype=np.float32)[None, :]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    return slice(y0, y1), slice(x0, x1), xs, ys


def _unit(x: np.ndarray) -> np.ndarray:
    """``x`` limited to 0..1 (two ufuncs: ``np.clip``'s Python wrapper costs more than the
    arithmetic on the small boxes drawn here)."""
    return np.minimum(np.maximum(x, 0.0), 1.0)


def _bell(t: np.ndarray, reach: float) -> np.ndarray:
    return _unit(1.0 - t / reach) ** 2


def draw_tube(tube: Tube, density: np.ndarray, labels: np.ndarray) -> None:
    """Add the projected thickness of ``tube`` to ``density`` and paint its label."""
    p0, p1 = np.asarray(tube.start, np.float32), np.asarray(tube.end, np.float32)
    length = float(np.hypot(*(p1 - p0)))
    if length < 0.5:
        return
    axis = (p1 - p0) / length
    normal = np.array([-axis[1], axis[0]], np.float32)
    hb, hs, hh = tube.half_widths
    slope = float(np.tan(tube.end_tilt))
    reach = max(hb, hs, hh * (1.0 + tube.tuft)) * (1.0 + abs(slope)) + 1.0
    box = _grid(labels.shape, np.minimum(p0, p1) - reach, np.maximum(p0, p1) + reach)
    if box is None:
        return
    rows, cols, xs, ys = box
    dx, dy = xs - p0[0], ys - p0[1]
    u = dx * axis[0] + dy * axis[1]
    v = dx * normal[0] + dy * normal[1]
    t = u / length
    base_bell, head_bell = _bell(t, tube.flare), _bell(1.0 - t, tube.flare)
    half = hs + (hb - hs) * base_bell + (hh - hs) * head_bell
    if tube.tuft:
        half = half + hh * tube.tuft * _bell(1.0 - t, 0.15)
    near_start = u < length / 2.0
    from_end = np.where(near_start, u, length - slope * v - u)
    r = np.where(near_start, *(max(min(e, length / 2.0), 0.5) for e in tube.end_round))
    rounding = np.sqrt(_unit(1.0 - ((r - np.minimum(from_end, r)) / r) ** 2))
    half = half * rounding * (from_end >= 0.0)
    inside = np.abs(v) < half
    if not inside.any():
        return
    outer = 2.0 * np.sqrt(np.maximum(half**2 - v**2, 0.0))
    shaftness = 1.0 - np.maximum(base_bell, head_bell)
    cortex = hs * (tube.cortex * shaftness + 0.1 * (1.0 - shaftness))
    inner_half = np.maximum(half - cortex, 0.0)
    inner = 2.0 * np.sqrt(np.maximum(inner_half**2 - v**2, 0.0))
    fill = _MARROW_DENSITY + (_CANCELLOUS_DENSITY - _MARROW_DENSITY) * (1.0 - shaftness)
    density[rows, cols] += outer - inner * (1.0 - fill)
    labels[rows, cols][inside] = tube.label


def draw_blob(blob: Blob, density: np.ndarray, labels: np.ndarray) -> None:
    """Add the projected thickness of ellipsoid ``blob`` to ``density`` and paint its label
    (label 0 draws an unlabelled bone, such as a sesamoid)."""
    a, b = blob.axes
    if min(a, b) < 0.3:
        a, b = max(a, 0.3), max(b, 0.3)
    center = np.asarray(blob.center, np.float32)
    reach = max(a, b) + 1.0
    box = _grid(labels.shape, center - reach, center + reach)
    if box is None:
        return
    rows, cols, xs, ys = box
    dx, dy = xs - center[0], ys - center[1]
    cos, sin = np.cos(blob.angle), np.sin(blob.angle)
    p = blob.squareness
    r2 = (np.abs((dx * cos + dy * sin) / a) ** p + np.abs((-dx * sin + dy * cos) / b) ** p) ** (
        2.0 / p
    )
    inside = r2 < 1.0
    if not inside.any():
        return
    outer = 2.0 * blob.depth * np.sqrt(np.maximum(1.0 - r2, 0.0))
    core = 1.0 - blob.rim
    inner = 2.0 * blob.depth * core * np.sqrt(np.maximum(1.0 - r2 / core**2, 0.0))
    density[rows, cols] += outer - inner * (1.0 - _CANCELLOUS_DENSITY)
    if blob.label:
        labels[rows, cols][inside] = blob.label


def draw_capsule(capsule: Capsule, thickness: np.ndarray) -> None:
    """Raise ``thickness`` to the chord length of the soft-tissue cylinder ``capsule`` (union by
    maximum, so overlapping capsules do not double the hand's thickness)."""
    p0, p1 = np.asarray(capsule.start, np.float32), np.asarray(capsule.end, np.float32)
    r = capsule.radius
    box = _grid(thickness.shape, np.minimum(p0, p1) - r, np.maximum(p0, p1) + r)
    if box is None:
        return
    rows, cols, xs, ys = box
    seg = p1 - p0
    seg_len2 = float(seg @ seg) or 1.0
    dx, dy = xs - p0[0], ys - p0[1]
    t = _unit((dx * seg[0] + dy * seg[1]) / seg_len2)
    d2 = (dx - t * seg[0]) ** 2 + (dy - t * seg[1]) ** 2
    chord = 2.0 * capsule.flatness * np.sqrt(np.maximum(r * r - d2, 0.0))
    np.maximum(thickness[rows, cols], chord, out=thickness[rows, cols])


@lru_cache(maxsize=8)
def _interpolation(size: int, low: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left and right source indices and right-hand weights that linearly interpolate ``low``
    samples to ``size``, pixel centres aligned (grid mode), edges clamped."""
    position = np.clip((np.arange(size) + 0.5) * low / size - 0.5, 0.0, low - 1.0)
    left = np.floor(position).astype(np.intp)
    right = np.minimum(left + 1, low - 1)
    return left, right, (position - left).astype(np.float32)


def upsample(low: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling of a smooth map to ``shape``, separably with gathers (several times
    faster than ``scipy.ndimage.zoom``, and free of BLAS threads)."""
    left, right, weight = _interpolation(shape[0], low.shape[0])
    rows = low[left] * (1.0 - weight)[:, None] + low[right] * weight[:, None]
    left, right, weight = _interpolation(shape[1], low.shape[1])
    return (rows[:, left] * (1.0 - weight) + rows[:, right] * weight).astype(np.float32)

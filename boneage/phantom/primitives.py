"""The two shapes every phantom bone is made of, in the hand's own millimetre frame.

A tubular bone (radius, ulna, metacarpal, phalanx shaft) is a :class:`Tube`: an axis from its
proximal to its distal end with a half-width profile (base, shaft, head), a cortex that is thick in
the shaft and thin at the cancellous ends. A carpal or an epiphysis is a :class:`Blob`: an
ellipsoid seen from above with a thin cortical rim. Both know their label id so that the label mask
is drawn from the same geometry as the image.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Tube:
    """A tubular bone from ``start`` (proximal) to ``end`` (distal), millimetres.

    ``half_widths`` are the half-widths (mm) at the base, the shaft and the head; ``end_round`` the
    lengths (mm) over which the start and the end round off (short at a physis, whose metaphysis
    is flat; longer at a joint); ``cortex`` the cortical thickness as a fraction of
    the shaft half-width; ``tuft`` widens the distal tip (distal phalanges).
    """

    label: int
    start: tuple[float, float]
    end: tuple[float, float]
    half_widths: tuple[float, float, float]
    end_round: tuple[float, float]
    cortex: float = 0.35
    tuft: float = 0.0
    flare: float = 0.3
    """Fraction of the length over which base and head widen from the shaft (metaphyses)."""
    end_tilt: float = 0.0
    """Tilt (radians) of the distal end plane: positive makes the side at negative ``v`` (to the
    right of the axis, facing ``end``, in a y-up frame) reach further, like the distal radius's
    radial inclination. A mirroring transform flips its sign."""

    def transformed(self, matrix: np.ndarray, offset: np.ndarray, scale: float) -> Tube:
        """The same tube under the similarity ``x -> matrix @ x + offset`` of scale ``scale``."""
        return replace(
            self,
            start=_moved(self.start, matrix, offset),
            end=_moved(self.end, matrix, offset),
            half_widths=tuple(w * scale for w in self.half_widths),
            end_round=(self.end_round[0] * scale, self.end_round[1] * scale),
            end_tilt=self.end_tilt * float(np.sign(np.linalg.det(matrix))),
        )


@dataclass(frozen=True)
class Blob:
    """An ellipsoidal ossification centre: ``center`` (mm), semi-axes ``axes`` (mm) along and
    across its ``angle`` (radians, from the x axis), depth semi-axis ``depth`` (mm)."""

    label: int
    center: tuple[float, float]
    axes: tuple[float, float]
    angle: float
    depth: float
    rim: float = 0.18
    squareness: float = 2.0
    """Exponent of the superellipse outline: 2 an ellipse, larger a boxier (mature carpal) shape."""

    def transformed(self, matrix: np.ndarray, offset: np.ndarray, scale: float) -> Blob:
        """The same blob under the similarity ``x -> matrix @ x + offset`` of scale ``scale``."""
        center = matrix @ np.asarray(self.center) + offset
        direction = matrix @ np.array([np.cos(self.angle), np.sin(self.angle)])
        return replace(
            self,
            center=(float(center[0]), float(center[1])),
            axes=(self.axes[0] * scale, self.axes[1] * scale),
            angle=float(np.arctan2(direction[1], direction[0])),
            depth=self.depth * scale,
        )


@dataclass(frozen=True)
class Capsule:
    """A soft-tissue cylinder of radius ``radius`` (mm) around the segment ``start``-``end``,
    flattened front-to-back to ``flatness`` of its width (palm and forearm are wider than deep)."""

    start: tuple[float, float]
    end: tuple[float, float]
    radius: float
    flatness: float = 1.0

    def transformed(self, matrix: np.ndarray, offset: np.ndarray, scale: float) -> Capsule:
        """The same capsule under the similarity ``x -> matrix @ x + offset`` of scale ``scale``."""
        return replace(
            self,
            start=_moved(self.start, matrix, offset),
            end=_moved(self.end, matrix, offset),
            radius=self.radius * scale,
        )


def _moved(
    point: tuple[float, float], matrix: np.ndarray, offset: np.ndarray
) -> tuple[float, float]:
    """``point`` under the affine map ``x -> matrix @ x + offset``, as plain floats."""
    x, y = matrix @ np.asarray(point) + offset
    return float(x), float(y)

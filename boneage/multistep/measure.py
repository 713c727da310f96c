"""Measurements of a real hand read from the landmark U-Net's map
(:mod:`boneage.multistep.landmarks`).

What is measured, and why it carries age on a film without pixel spacing:

- **Bone lengths** between consecutive joint centres: the thumb's metacarpal and phalanges and
  the proximal, middle and distal phalanges of each finger (the distal ones to the fingertip, so
  with their soft-tissue tip). Without spacing they are ratios to the hand's own scale, the
  distance from the distal radius to the third MCP joint (:data:`SCALE_FROM`, :data:`SCALE_TO`):
  proportions change little with age, so they mostly say whether the bones were found.
- **Epiphyses in their joints**: for each finger joint and the carpus, the joint region around
  its landmark and the ossified epiphyses or carpal bones inside it. The share of the joint
  region they fill grows from nothing (no centre yet) to a full cap over the metaphysis
  (Greulich & Pyle's stages); their area over the squared hand scale grows with them. For the
  carpus this is the carpal bones' share of the carpal region: the main sign of maturity from
  birth to about ten years.
- **Presence** of each epiphysis: whether any ossified pixels lie in its joint region.

Physis closure is not measured: at 256 pixels across the whole film a physis is under one pixel
wide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from boneage.contract import JointReadout, LandmarkReadout
from boneage.multistep.landmarks import HandMap

MIN_CONFIDENCE = 0.2
"""A landmark counts as found when at least this share of its heatmap's probability lies at its
peak (:attr:`boneage.multistep.landmarks.Landmark.confidence`)."""

SCALE_FROM, SCALE_TO = "wrist", "middle_mcp"
"""The hand's own length scale: distal radius to third MCP joint (the carpus and the third
metacarpal), the straightest and largest span the landmarks give."""

BONES: dict[str, tuple[str, str]] = {
    "metacarpal_1": ("thumb_cmc", "thumb_mcp"),
    "proximal_phalanx_1": ("thumb_mcp", "thumb_ip"),
    "distal_phalanx_1": ("thumb_ip", "thumb_tip"),
    **{
        f"{phalanx}_phalanx_{digit}": (f"{finger}_{start}", f"{finger}_{end}")
        for digit, finger in enumerate(("index", "middle", "ring", "little"), start=2)
        for phalanx, start, end in (
            ("proximal", "mcp", "pip"),
            ("middle", "pip", "dip"),
            ("distal", "dip", "tip"),
        )
    },
}
"""Each bone measured, between the two landmarks at its ends (the anatomical names the reference
table and the report use)."""

JOINTS: tuple[str, ...] = (
    "thumb_mcp",
    "thumb_ip",
    *(f"{f}_{j}" for f in ("index", "middle", "ring", "little") for j in ("mcp", "pip", "dip")),
    "wrist",
)
"""Landmarks whose joint region is measured; ``wrist`` stands for the carpus and distal radius."""

MAX_JOINT_DISTANCE = 0.08
"""A joint region further from its landmark than this share of the hand scale is not that
joint's (about half a child's middle-phalanx length)."""

MIN_EPIPHYSIS_SHARE = 0.01
"""Less than this share of ossified pixels in a joint region counts as no centre present."""


@dataclass(frozen=True)
class JointMeasurement:
    """One joint region: its area and the ossified area inside it (pixels at the model input)."""

    joint: str
    region_px: int
    epiphysis_px: int
    region_width_px: float = 0.0
    epiphysis_width_px: float = 0.0
    epiphysis_height_px: float = 0.0

    @property
    def share(self) -> float:
        return self.epiphysis_px / self.region_px

    @property
    def width_share(self) -> float:
        """Epiphysis width over joint width, across the finger: Greulich & Pyle's "as wide as
        the metaphysis" reads as 1."""
        return self.epiphysis_width_px / self.region_width_px if self.region_width_px else 0.0

    @property
    def present(self) -> bool:
        return self.share >= MIN_EPIPHYSIS_SHARE


@dataclass(frozen=True)
class HandMeasurements:
    """What :func:`measure_hand` read: bone lengths (pixels), joint regions, the hand scale
    (pixels, None when its landmarks were not found) and the landmarks that were not found."""

    lengths_px: dict[str, float]
    joints: dict[str, JointMeasurement]
    scale_px: float | None
    missing_landmarks: tuple[str, ...]
    spacing_mm: float | None = None

    def features(self, mode: str) -> tuple[dict[str, float], dict[str, bool]]:
        """The (continuous, binary) features of the reference table
        (:mod:`boneage.multistep.table`); in ``absolute_mm`` mode lengths are in millimetres,
        otherwise over the hand scale."""
        continuous: dict[str, float] = {}
        if self.scale_px:
            for bone, length in self.lengths_px.items():
                if mode == "absolute_mm" and self.spacing_mm is not None:
                    continuous[f"length_mm:{bone}"] = length * self.spacing_mm
                elif mode == "ratios":
                    continuous[f"length_ratio:{bone}"] = length / self.scale_px
            for joint, m in self.joints.items():
                continuous[f"relative_size:{_centre(joint)}"] = m.share
                continuous[f"relative_size:{_centre(joint)}_area"] = (
                    m.epiphysis_px / self.scale_px**2
                )
                if joint != "wrist":
                    continuous[f"relative_size:{_centre(joint)}_width"] = m.width_share
                    continuous[f"relative_size:{_centre(joint)}_height"] = (
                        m.epiphysis_height_px / self.scale_px
                    )
        binary = {f"present:{_centre(j)}": m.present for j, m in self.joints.items()}
        return continuous, binary

    @classmethod
    def from_dict(cls, raw: dict[str, Any], spacing_mm: float | None = None) -> HandMeasurements:
        """Read back :meth:`to_dict` (measured hands kept for refitting tables)."""
        return cls(
            lengths_px=dict(raw["lengths_px"]),
            joints={
                j: JointMeasurement(
                    j,
                    int(m["region_px"]),
                    int(m["epiphysis_px"]),
                    float(m["region_width_px"]),
                    float(m["epiphysis_width_px"]),
                    float(m["epiphysis_height_px"]),
                )
                for j, m in raw["joints"].items()
            },
            scale_px=raw["scale_px"],
            missing_landmarks=tuple(raw["missing_landmarks"]),
            spacing_mm=spacing_mm,
        )

    def readout(self) -> LandmarkReadout:
        """What the report shows of the landmark map (the contract's ``landmarks``)."""
        return LandmarkReadout(
            scale_px=None if self.scale_px is None else round(self.scale_px, 1),
            lengths_px={k: round(v, 1) for k, v in self.lengths_px.items()},
            joints={
                j: JointReadout(
                    region_px=m.region_px,
                    epiphysis_px=m.epiphysis_px,
                    region_width_px=round(m.region_width_px, 2),
                    epiphysis_width_px=round(m.epiphysis_width_px, 2),
                    epiphysis_height_px=round(m.epiphysis_height_px, 2),
                )
                for j, m in self.joints.items()
            },
            missing_landmarks=list(self.missing_landmarks),
        )

    def to_dict(self) -> dict[str, Any]:
        """:meth:`readout` as JSON (measured hands kept for refitting tables)."""
        return self.readout().model_dump(mode="json")


@dataclass(frozen=True)
class MeanMeasurements:
    """Several readings of one hand, read by the table as one: each continuous feature is its
    mean over the readings that measured it, and a centre counts as present when most readings
    found it.

    A single reading moves with the film's pixels, because every region is a thresholded map:
    on 60 `val` films, a gamma of 0.7 moved the multi-step estimate by a median 3.1 months
    and a mirror by 4.5. Crops nudged by a few degrees and per cent
    (:data:`boneage.framing.canonical.NUDGES`) see the same hand through other pixels, and
    their mean is steadier."""

    readings: Sequence[HandMeasurements]

    @property
    def spacing_mm(self) -> float | None:
        return self.readings[0].spacing_mm

    def features(self, mode: str) -> tuple[dict[str, float], dict[str, bool]]:
        sums: dict[str, list[float]] = {}
        votes: dict[str, list[bool]] = {}
        for reading in self.readings:
            continuous, binary = reading.features(mode)
            for key, value in continuous.items():
                sums.setdefault(key, []).append(value)
            for key, present in binary.items():
                votes.setdefault(key, []).append(present)
        return (
            {key: float(np.mean(values)) for key, values in sums.items()},
            {key: 2 * sum(found) >= len(found) for key, found in votes.items()},
        )


def _centre(joint: str) -> str:
    """The ossification centre a joint region is read for (``carpus`` for the wrist)."""
    return "carpus" if joint == "wrist" else f"{joint}_epiphysis"


AXIS_FROM = {
    "thumb_mcp": ("thumb_cmc", "thumb_mcp"),
    "thumb_ip": ("thumb_mcp", "thumb_ip"),
    "wrist": ("wrist", "middle_mcp"),
    **{f"{f}_mcp": (f"{f}_mcp", f"{f}_pip") for f in ("index", "middle", "ring", "little")},
    **{f"{f}_pip": (f"{f}_mcp", f"{f}_pip") for f in ("index", "middle", "ring", "little")},
    **{f"{f}_dip": (f"{f}_pip", f"{f}_dip") for f in ("index", "middle", "ring", "little")},
}
"""The two landmarks whose line gives the finger's axis at each joint."""


def _finger_axis(joint: str, found: dict[str, np.ndarray]) -> np.ndarray | None:
    start, end = AXIS_FROM[joint]
    if start not in found or end not in found:
        return None
    direction = found[end] - found[start]
    norm = float(np.linalg.norm(direction))
    return direction / norm if norm else None


def _extent(mask: np.ndarray, along: np.ndarray | None, *, across: bool) -> float:
    """Robust extent (5th to 95th percentile, plus one pixel) of ``mask``'s pixels across or
    along the finger axis ``along`` (0 for an empty mask or an unknown axis)."""
    points = np.argwhere(mask).astype(float)
    if len(points) == 0 or along is None:
        return 0.0
    direction = np.array([-along[1], along[0]]) if across else along
    projection = points @ direction
    low, high = np.percentile(projection, [5, 95])
    return float(high - low + 1)


def measure_hand(hand: HandMap, spacing_mm: float | None = None) -> HandMeasurements:
    """Measure one hand map; ``spacing_mm`` is the pixel spacing of the model input, if known."""
    found = {
        name: np.array([lm.row, lm.col])
        for name, lm in hand.landmarks.items()
        if lm.confidence >= MIN_CONFIDENCE
    }
    missing = tuple(name for name in hand.landmarks if name not in found)
    lengths = {
        bone: float(np.linalg.norm(found[end] - found[start]))
        for bone, (start, end) in BONES.items()
        if start in found and end in found
    }
    scale = None
    if SCALE_FROM in found and SCALE_TO in found:
        scale = float(np.linalg.norm(found[SCALE_TO] - found[SCALE_FROM])) or None
    joints: dict[str, JointMeasurement] = {}
    if scale is not None and hand.joint.any():
        components, _ = ndimage.label(hand.joint)
        distance, (rows, cols) = ndimage.distance_transform_edt(~hand.joint, return_indices=True)
        height, width = hand.joint.shape
        for joint in JOINTS:
            if joint not in found:
                continue
            r = int(np.clip(round(found[joint][0]), 0, height - 1))
            c = int(np.clip(round(found[joint][1]), 0, width - 1))
            if distance[r, c] > MAX_JOINT_DISTANCE * scale:
                continue
            region = components == components[rows[r, c], cols[r, c]]
            along = _finger_axis(joint, found)
            joints[joint] = JointMeasurement(
                joint=joint,
                region_px=int(region.sum()),
                epiphysis_px=int((region & hand.epiphysis).sum()),
                region_width_px=_extent(region, along, across=True),
                epiphysis_width_px=_extent(region & hand.epiphysis, along, across=True),
                epiphysis_height_px=_extent(region & hand.epiphysis, along, across=False),
            )
    return HandMeasurements(
        lengths_px=lengths,
        joints=joints,
        scale_px=scale,
        missing_landmarks=missing,
        spacing_mm=spacing_mm,
    )

"""The skeleton of one phantom hand: where each bone lies, how long and wide it is, which
ossification centres show and which physes are closed, in a left hand's millimetre frame.

Frame: x towards the thumb (a left hand seen postero-anteriorly, as displayed), y distal, origin at
the middle of the distal radio-ulnar joint line. Lengths come from :func:`boneage.phantom.anatomy.
bone_length_mm` (growth model anchored on Garn et al. 1972 and Maresh 1955); appearance and fusion
from :mod:`boneage.phantom.anatomy` (Greulich & Pyle 1959, Gilsanz & Ratib 2005). The adult hand it
scales is in :mod:`boneage.phantom.layout`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from boneage.phantom import anatomy, layout
from boneage.phantom.primitives import Blob, Capsule, Tube


@dataclass(frozen=True)
class Skeleton:
    """Bones in paint order (later ones lie on top) and the soft-tissue capsules, in mm."""

    bones: tuple[Tube | Blob, ...]
    soft_tissue: tuple[Capsule, ...]


@dataclass(frozen=True)
class Maturity:
    """Per-phantom draws that make one child differ from the reference: a size z-score, and for
    every centre a z-score of its appearance and fusion age (individual scatter around the
    reference, reduced because the phantom's age is its skeletal age)."""

    size_z: float
    centre_z: dict[str, float]

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Maturity:
        names = [bone.name for bone in anatomy.BONES]
        return cls(
            float(rng.normal()), dict(zip(names, rng.normal(0.0, 0.5, len(names)), strict=True))
        )


def sample_lengths(
    age_months: float, sex: str, maturity: Maturity, rng: np.random.Generator
) -> dict[str, float]:
    """Length (mm) of every long bone of this phantom: the reference mean shifted by the shared
    size z-score plus a little independent per-bone scatter (proportions vary less than size)."""
    lengths = {}
    for bone in anatomy.LENGTH_BONES:
        mean, sd = anatomy.bone_length_mm(bone, age_months, sex)
        z = 0.85 * maturity.size_z + 0.35 * rng.normal()
        lengths[bone] = max(0.3 * mean, mean + z * sd)
    return lengths


def layout_scale(lengths: dict[str, float]) -> float:
    """How large this hand is relative to the adult male layout (ratio of third metacarpals)."""
    return lengths["metacarpal_3"] / layout.ADULT_MC3_MM


def hand_extent_mm(lengths: dict[str, float]) -> float:
    """Distance (mm) from the distal radius to the tip of the middle finger."""
    scale = layout_scale(lengths)
    ray = ("metacarpal_3", "proximal_phalanx_3", "middle_phalanx_3", "distal_phalanx_3")
    carpus = layout.RAY_BASES_MM[3][1] * scale**layout.WIDTH_EXPONENT
    return carpus + sum(lengths[b] for b in ray) + 6.0 * scale


def _appeared(centre: str, age: float, sex: str, maturity: Maturity) -> tuple[bool, float]:
    mean, sd = anatomy.appearance_age_months(centre, sex)
    onset = mean + sd * maturity.centre_z[centre]
    return age >= onset, onset


def _fusion(bone: str, age: float, sex: str, maturity: Maturity) -> tuple[float, float]:
    """(closure 0..1 of the physis, months since fusion or negative before)."""
    mean, sd = anatomy.fusion_age_months(bone, sex)
    fused_at = mean + sd * layout.FUSION_SCATTER * maturity.centre_z[bone]
    closure = float(np.clip((age - fused_at) / layout.CLOSURE_MONTHS + 1.0, 0.0, 1.0))
    return closure, age - fused_at


def _width_kind(bone: str) -> str:
    return "metacarpal_1" if bone == "metacarpal_1" else bone.rstrip("_12345")


class _Builder:
    """Collects the shapes of one hand while it is laid out bone by bone."""

    def __init__(
        self,
        age: float,
        sex: str,
        lengths: dict[str, float],
        maturity: Maturity,
        min_gap_mm: float,
        spread: float,
        rng: np.random.Generator,
    ) -> None:
        self.age, self.sex, self.lengths, self.maturity = age, sex, lengths, maturity
        self.scale = layout_scale(lengths)
        self.width_scale = self.scale**layout.WIDTH_EXPONENT
        self.soft_scale = self.scale**layout.SOFT_EXPONENT
        self.breadth = self.scale**layout.BREADTH_EXPONENT
        self.min_gap_mm = min_gap_mm
        self.spread = spread
        self.rng = rng
        self.shafts: list[Tube] = []
        self.centres: list[Blob] = []
        self.soft: list[Capsule] = []

    def long_bone(
        self,
        bone: str,
        base: np.ndarray,
        direction: np.ndarray,
        epiphysis_at_base: bool,
        tilt: float = 0.0,
    ) -> np.ndarray:
        """Add ``bone`` from ``base`` along ``direction``; return its distal end. ``tilt``
        (radians) inclines a distal physis (radius), towards the thumb."""
        length = self.lengths[bone]
        kind = bone.split("_")[0] if bone in ("radius", "ulna") else bone.split("_")[-2]
        zone_kind = "metacarpal" if kind == "metacarpal" else "phalanx"
        zone = length * layout.EPIPHYSIS_ZONE.get(bone, layout.EPIPHYSIS_ZONE[zone_kind])
        widths = np.array(layout.HALF_WIDTHS_MM[_width_kind(bone)]) * self.width_scale
        if bone in ("radius", "ulna"):
            ratio = self.lengths[bone] / anatomy.adult_length_mm(bone, "M")
            widths = np.array(layout.HALF_WIDTHS_MM[bone]) * ratio**layout.WIDTH_EXPONENT
        tip = base + direction * length
        shaft_start = base + direction * zone if epiphysis_at_base else base
        shaft_end = tip if epiphysis_at_base else tip - direction * zone
        tuft = 0.5 if bone.startswith("distal_phalanx") else 0.0
        flare = 0.12 if bone in ("radius", "ulna") else 0.3
        joint_round, physis_round = 0.4 * float(widths[1]), 0.12 * float(widths[1])
        rounds = (physis_round, joint_round) if epiphysis_at_base else (joint_round, physis_round)
        self.shafts.append(
            Tube(
                anatomy.BY_NAME[bone].label,
                tuple(shaft_start),
                tuple(shaft_end),
                tuple(widths),
                end_round=rounds,
                tuft=tuft,
                flare=flare,
                end_tilt=tilt,
            )
        )
        self._epiphysis(
            bone,
            shaft_start if epiphysis_at_base else shaft_end,
            -direction if epiphysis_at_base else direction,
            zone,
            float(widths[0] if epiphysis_at_base else widths[2]),
            tilt,
        )
        return tip

    def _epiphysis(
        self,
        bone: str,
        physis: np.ndarray,
        outward: np.ndarray,
        zone: float,
        metaphysis_half_width: float,
        tilt: float,
    ) -> None:
        name = f"{bone}_epiphysis"
        present, onset = _appeared(name, self.age, self.sex, self.maturity)
        if not present:
            return
        closure, since_fusion = _fusion(bone, self.age, self.sex, self.maturity)
        mature_at = anatomy.fusion_age_months(bone, self.sex)[0] - 24.0
        growth = float(np.clip((self.age - onset) / max(mature_at - onset, 12.0), 0.0, 1.0))
        size = 0.18 + 0.82 * (1.0 - np.exp(-3.0 * growth)) / (1.0 - np.exp(-3.0))
        if since_fusion >= 0.0:
            gap = -0.15 * zone
        else:
            open_gap = min(layout.PHYSIS_MM * self.width_scale, 0.25 * zone)
            gap = max(self.min_gap_mm, open_gap * (1.0 - 0.75 * closure))
        height = max((zone - gap) * (0.35 + 0.65 * size), 0.6)
        half_width = metaphysis_half_width * (0.3 + 0.72 * size + 0.06 * closure)
        offset = (gap + height / 2.0) / np.cos(tilt)
        offset += (1.0 - size) * max(zone - gap - height, 0.0) / 2.0
        center = physis + outward * offset
        angle = float(np.arctan2(outward[1], outward[0])) + np.pi / 2.0 + tilt
        depth = min(half_width, height) * 0.9
        self.centres.append(
            Blob(
                anatomy.BY_NAME[name].label,
                tuple(center),
                (half_width, height / 2.0),
                angle,
                depth,
                squareness=2.0 + 1.6 * size,
            )
        )

    def carpals(self) -> None:
        mature_at = 168.0 if self.sex == "F" else 192.0
        for name in layout.CARPAL_PAINT_ORDER:
            present, onset = _appeared(name, self.age, self.sex, self.maturity)
            if not present:
                continue
            x, y, a, b, angle_deg = layout.CARPALS_MM[name]
            growth = float(np.clip((self.age - onset) / (mature_at - onset), 0.0, 1.0))
            size = 0.3 + 0.7 * growth**0.4
            roundness = 1.0 - growth
            mean_axis = (a + b) / 2.0
            axes = np.array([a + (mean_axis - a) * roundness, b + (mean_axis - b) * roundness])
            axes = axes * size * self.width_scale * (layout.CARPAL_FILL + 0.05 * self.rng.normal())
            self.centres.append(
                Blob(
                    anatomy.BY_NAME[name].label,
                    (x * self.breadth, y * self.width_scale),
                    (float(axes[0]), float(axes[1])),
                    np.deg2rad(angle_deg),
                    float(min(axes)) * 0.9,
                    squareness=2.0 + 1.2 * growth,
                )
            )

    def sesamoids(self, head: np.ndarray, direction: np.ndarray) -> None:
        """The two thumb sesamoids over the first metacarpal head, unlabelled, from puberty."""
        mean, sd = anatomy.SESAMOID_APPEARANCE_MONTHS[self.sex]
        onset = mean + sd * self.rng.normal(0.0, 0.5)
        if self.age < onset:
            return
        size = min(0.4 + (self.age - onset) / 60.0, 1.0) * 2.6 * self.width_scale
        across = np.array([-direction[1], direction[0]])
        for side in (-1.0, 1.0):
            centre = head - direction * 2.0 * self.scale + across * side * 4.5 * self.width_scale
            self.centres.append(Blob(0, tuple(centre), (size, size * 0.85), 0.0, size))

    def forearm(self) -> None:
        down = np.array([0.0, -1.0])
        inclination = np.deg2rad(
            layout.RADIAL_INCLINATION_DEG * min(self.age / 192.0, 1.0) ** 0.5
            + self.rng.normal(0.0, 2.5)
        )
        for bone, x, y in (("radius", 9.0, 0.0), ("ulna", -15.0, -2.5)):
            distal = np.array([x * self.breadth, y * self.scale])
            tilt = inclination if bone == "radius" else 0.0
            self.long_bone(bone, distal + down * self.lengths[bone], -down, False, tilt)
        for start, end, radius, flatness in layout.SOFT_TISSUE_MM:
            self.soft.append(
                Capsule(
                    (start[0] * self.breadth, start[1] * self.scale),
                    (end[0] * self.breadth, end[1] * self.scale),
                    radius * self.soft_scale,
                    flatness,
                )
            )

    def ray(self, ray: int) -> None:
        """Add ray ``ray`` (1 thumb ... 5 little finger) with its soft tissue."""
        x, y, angle_deg = layout.RAY_BASES_MM[ray]
        jitter = self.rng.normal(0.0, 6.0 if ray == 1 else 1.5)
        angle = np.deg2rad(angle_deg * (1.0 + 0.3 * self.spread) + jitter)
        direction = np.array([np.sin(angle), np.cos(angle)])
        base = np.array([x * self.breadth, y * self.width_scale])
        joint = 1.2 * self.scale
        head = self.long_bone(f"metacarpal_{ray}", base, direction, ray == 1)
        if ray == 1:
            self.sesamoids(head, direction)
        self.soft.append(Capsule(tuple(base), tuple(head), 10.0 * self.soft_scale, 0.85))
        bend = layout.THUMB_BEND_DEG if ray == 1 else angle_deg * 0.5 * self.spread + jitter
        finger_angle = angle + np.deg2rad(bend)
        point = head + np.array([np.sin(finger_angle), np.cos(finger_angle)]) * joint
        radius = (layout.HALF_WIDTHS_MM["proximal_phalanx"][1] * 2.2 + 1.5) * self.soft_scale
        names = ["proximal", "distal"] if ray == 1 else ["proximal", "middle", "distal"]
        for index, part in enumerate(names):
            phalanx_angle = finger_angle + np.deg2rad(
                self.rng.normal(0.0, layout.JOINT_DEVIATION_DEG)
            )
            finger = np.array([np.sin(phalanx_angle), np.cos(phalanx_angle)])
            start = point - finger * (4.0 * self.scale if index == 0 else 0.0)
            point = self.long_bone(f"{part}_phalanx_{ray}", point, finger, True) + finger * joint
            tip = point + finger * (2.5 * self.soft_scale if part == "distal" else 0.0)
            taper = 1.0 - 0.08 * (index + (part == "distal"))
            self.soft.append(Capsule(tuple(start), tuple(tip), radius * taper))


def build_skeleton(
    age_months: float,
    sex: str,
    lengths: dict[str, float],
    maturity: Maturity,
    *,
    min_gap_mm: float,
    spread: float,
    rng: np.random.Generator,
) -> Skeleton:
    """Lay out one left hand at ``age_months`` for ``sex`` with the sampled ``lengths`` (mm).

    ``min_gap_mm`` is the narrowest open physis that still shows as a gap at the rendering's
    spacing, so that an open physis never touches its metaphysis in the label mask; ``spread``
    (0..1) opens the fingers.
    """
    builder = _Builder(age_months, sex, lengths, maturity, min_gap_mm, spread, rng)
    builder.forearm()
    builder.carpals()
    for ray in (1, 2, 3, 4, 5):
        builder.ray(ray)
    return Skeleton(tuple(builder.shafts + builder.centres), tuple(builder.soft))

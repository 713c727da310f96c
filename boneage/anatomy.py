"""The bones of the hand and wrist that the engine models, with stable label ids.

Label ids are part of every mask on disk and every trained U-Net: never renumber them, only
append. 0 is background. Rays are numbered 1 (thumb) to 5 (little finger). An epiphysis is its
own label, with ``parent`` naming the bone it fuses to, so that ossification-centre presence and
physis fusion can be read from a mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BoneKind = Literal["long", "carpal", "epiphysis"]


@dataclass(frozen=True)
class Bone:
    """One modelled bone or ossification centre."""

    label: int
    name: str
    kind: BoneKind
    ray: int | None = None
    parent: str | None = None


def _long_bones() -> list[Bone]:
    bones = [Bone(1, "radius", "long"), Bone(2, "ulna", "long")]
    bones += [Bone(2 + ray, f"metacarpal_{ray}", "long", ray) for ray in range(1, 6)]
    bones += [Bone(7 + ray, f"proximal_phalanx_{ray}", "long", ray) for ray in range(1, 6)]
    bones += [Bone(11 + ray, f"middle_phalanx_{ray}", "long", ray) for ray in range(2, 6)]
    bones += [Bone(16 + ray, f"distal_phalanx_{ray}", "long", ray) for ray in range(1, 6)]
    return bones


CARPAL_NAMES = (
    "capitate",
    "hamate",
    "triquetrum",
    "lunate",
    "scaphoid",
    "trapezium",
    "trapezoid",
    "pisiform",
)


def _epiphyses(long_bones: list[Bone]) -> list[Bone]:
    return [
        Bone(30 + index, f"{bone.name}_epiphysis", "epiphysis", bone.ray, bone.name)
        for index, bone in enumerate(long_bones)
    ]


LONG_BONES: tuple[Bone, ...] = tuple(_long_bones())
CARPALS: tuple[Bone, ...] = tuple(Bone(22 + i, name, "carpal") for i, name in enumerate(CARPAL_NAMES))
EPIPHYSES: tuple[Bone, ...] = tuple(_epiphyses(list(LONG_BONES)))
BONES: tuple[Bone, ...] = LONG_BONES + CARPALS + EPIPHYSES
BY_NAME: dict[str, Bone] = {bone.name: bone for bone in BONES}
BY_LABEL: dict[int, Bone] = {bone.label: bone for bone in BONES}
NUM_CLASSES: int = len(BONES) + 1
"""Classes of the segmentation: every modelled bone plus background (label 0)."""

"""Hands measured exactly at the reference: every length at the table's mean for an age, and the
ossification most likely at that age; tests of the table and of its fitting build on them."""

from __future__ import annotations

from boneage.phantom import anatomy
from boneage.phantom.measure import BoneMeasurement, Measurements, Ossification


def expected_ossification(age_months: float, sex: str) -> Ossification:
    """Presence and fusion as the reference says they are most likely at ``age_months``."""
    present = [
        c
        for c in anatomy.OSSIFICATION_CENTRES
        if anatomy.ossification_probability(c, age_months, sex) > 0.5
    ]
    absent = [c for c in anatomy.OSSIFICATION_CENTRES if c not in present]
    epiphyses = [c for c in present if c.endswith("_epiphysis")]
    fused = [e for e in epiphyses if anatomy.physis_fused_probability(e, age_months, sex) > 0.5]
    return Ossification(
        tuple(present), tuple(absent), tuple(fused), tuple(e for e in epiphyses if e not in fused)
    )


def hand_at(age_months: float, sex: str, *, spacing: bool, scale: dict[str, float] | None = None):
    """Measurements whose every length equals the reference mean at ``age_months`` (times
    ``scale[bone]`` where given), with the ossification expected at that age."""
    scale = scale or {}
    lengths = {
        b: anatomy.bone_length_mm(b, age_months, sex)[0] * scale.get(b, 1.0)
        for b in anatomy.LENGTH_BONES
    }
    bones = {
        bone: BoneMeasurement(
            bone=bone,
            kind="long",
            area_px=100,
            length_px=length,
            width_px=5.0,
            centroid_px=(0.0, 0.0),
            orientation_deg=0.0,
            length_mm=length if spacing else None,
            length_ratio=length / lengths["metacarpal_3"],
        )
        for bone, length in lengths.items()
    }
    return Measurements(
        bones, expected_ossification(age_months, sex), (1.0, 1.0) if spacing else None
    )

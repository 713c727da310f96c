"""The reference table: lookup on known values, both spacing modes, outliers, save and load."""

from __future__ import annotations

import dataclasses

import pytest

from boneage import anatomy
from boneage.measure import BoneMeasurement, Measurements, Ossification
from boneage.reference import (
    UNMEASURED_LENGTHS,
    ReferenceTable,
    default_reference,
    estimate_age,
)


@pytest.fixture(scope="module")
def table() -> ReferenceTable:
    return default_reference()


def _expected_ossification(age_months: float, sex: str) -> Ossification:
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


def _hand_at(age_months: float, sex: str, *, spacing: bool, scale: dict[str, float] | None = None):
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
        bones, _expected_ossification(age_months, sex), (1.0, 1.0) if spacing else None
    )


@pytest.mark.parametrize(("age", "sex"), [(36.0, "F"), (96.0, "M"), (130.0, "F")])
def test_lengths_equal_to_the_mean_at_an_age_give_that_age(table, age, sex):
    hand = _hand_at(age, sex, spacing=True)
    lengths_only = dataclasses.replace(hand, ossification=Ossification((), (), (), ()))
    for measurements in (hand, lengths_only):
        estimate = estimate_age(table, measurements, sex, "absolute_mm")
        assert len(estimate.bone_ages) == len(anatomy.LENGTH_BONES) - len(UNMEASURED_LENGTHS)
        for bone_age in estimate.bone_ages:
            assert bone_age.age_months == pytest.approx(age, abs=1.5)
        low, high = estimate.interval_months
        assert low < age < high
        assert estimate.outliers == ()


def test_same_hand_a_third_larger_reads_older_with_spacing_but_not_as_ratios(table):
    hand = _hand_at(60.0, "M", spacing=True, scale=dict.fromkeys(anatomy.LENGTH_BONES, 1.3))
    absolute = estimate_age(table, hand, "M", "absolute_mm")
    ratios = estimate_age(table, hand, "M", "ratios")
    assert absolute.age_months > ratios.age_months + 10.0
    assert ratios.age_months == pytest.approx(60.0, abs=12.0)
    assert ratios.spacing_mode == "ratios"


def test_interval_is_wider_without_spacing_in_a_ratio_only_table(table):
    hand = _hand_at(100.0, "F", spacing=True)
    absolute = estimate_age(table, hand, "F", "absolute_mm")
    ratios = estimate_age(table, hand, "F", "ratios")
    width = lambda e: e.interval_months[1] - e.interval_months[0]  # noqa: E731
    assert width(ratios) > width(absolute)


def test_a_bone_that_disagrees_is_flagged_and_does_not_move_the_estimate(table):
    clean = estimate_age(table, _hand_at(84.0, "F", spacing=True), "F", "absolute_mm")
    merged = _hand_at(84.0, "F", spacing=True, scale={"metacarpal_2": 1.6})
    estimate = estimate_age(table, merged, "F", "absolute_mm")
    assert estimate.outliers == ("metacarpal_2",)
    flagged = {b.bone for b in estimate.bone_ages if b.outlier}
    assert flagged == {"metacarpal_2"}
    assert estimate.age_months == pytest.approx(clean.age_months, abs=3.0)


def test_absent_and_fused_centres_alone_bound_the_age(table):
    hand = _hand_at(30.0, "M", spacing=False)
    only_ossification = dataclasses.replace(hand, bones={})
    estimate = estimate_age(table, only_ossification, "M", "ratios")
    low, high = estimate.interval_months
    assert low < 30.0 < high
    assert high < 72.0


def test_table_survives_save_and_load(table, tmp_path):
    path = tmp_path / "reference.json"
    table.save(path)
    loaded = ReferenceTable.load(path)
    hand = _hand_at(120.0, "M", spacing=True)
    assert loaded.ident == table.ident
    assert loaded.provenance["code_version"]
    assert estimate_age(loaded, hand, "M", "absolute_mm").age_months == pytest.approx(
        estimate_age(table, hand, "M", "absolute_mm").age_months, abs=0.01
    )

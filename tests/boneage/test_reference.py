"""The reference table: lookup on known values, both spacing modes, outliers, save and load."""

from __future__ import annotations

import dataclasses
import json

import pytest

from boneage.multistep.estimator import estimate_age
from boneage.multistep.table import SCHEMA, ReferenceTable
from boneage.phantom import anatomy
from boneage.phantom.measure import UNMEASURED_LENGTHS, Ossification
from boneage.phantom.reference_default import default_reference
from tests.boneage.reference_hands import hand_at


@pytest.fixture(scope="module")
def table() -> ReferenceTable:
    return default_reference()


@pytest.mark.parametrize(("age", "sex"), [(36.0, "F"), (96.0, "M"), (130.0, "F")])
def test_lengths_equal_to_the_mean_at_an_age_give_that_age(table, age, sex):
    hand = hand_at(age, sex, spacing=True)
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
    hand = hand_at(60.0, "M", spacing=True, scale=dict.fromkeys(anatomy.LENGTH_BONES, 1.3))
    absolute = estimate_age(table, hand, "M", "absolute_mm")
    ratios = estimate_age(table, hand, "M", "ratios")
    assert absolute.age_months > ratios.age_months + 10.0
    assert ratios.age_months == pytest.approx(60.0, abs=12.0)
    assert ratios.spacing_mode == "ratios"


def test_interval_is_wider_without_spacing_in_a_ratio_only_table(table):
    hand = hand_at(100.0, "F", spacing=True)
    absolute = estimate_age(table, hand, "F", "absolute_mm")
    ratios = estimate_age(table, hand, "F", "ratios")
    width = lambda e: e.interval_months[1] - e.interval_months[0]  # noqa: E731
    assert width(ratios) > width(absolute)


def test_a_bone_that_disagrees_is_flagged_and_does_not_move_the_estimate(table):
    clean = estimate_age(table, hand_at(84.0, "F", spacing=True), "F", "absolute_mm")
    merged = hand_at(84.0, "F", spacing=True, scale={"metacarpal_2": 1.6})
    estimate = estimate_age(table, merged, "F", "absolute_mm")
    assert estimate.outliers == ("metacarpal_2",)
    flagged = {b.bone for b in estimate.bone_ages if b.outlier}
    assert flagged == {"metacarpal_2"}
    assert estimate.age_months == pytest.approx(clean.age_months, abs=3.0)


def test_absent_and_fused_centres_alone_bound_the_age(table):
    hand = hand_at(30.0, "M", spacing=False)
    only_ossification = dataclasses.replace(hand, bones={})
    estimate = estimate_age(table, only_ossification, "M", "ratios")
    low, high = estimate.interval_months
    assert low < 30.0 < high
    assert high < 72.0


def test_table_survives_save_and_load(table, tmp_path):
    path = tmp_path / "reference.json"
    table.save(path)
    loaded = ReferenceTable.load(path)
    hand = hand_at(120.0, "M", spacing=True)
    assert loaded.ident == table.ident
    assert loaded.provenance["code_version"]
    assert estimate_age(loaded, hand, "M", "absolute_mm").age_months == pytest.approx(
        estimate_age(table, hand, "M", "absolute_mm").age_months, abs=0.01
    )


def test_interval_scale_widens_the_interval_around_the_same_estimate(table):
    hand = hand_at(100.0, "F", spacing=True)
    scaled = dataclasses.replace(table, interval_scales={"absolute_mm": 2.0})
    plain = estimate_age(table, hand, "F", "absolute_mm")
    wide = estimate_age(scaled, hand, "F", "absolute_mm")
    assert wide.age_months == plain.age_months
    for plain_edge, wide_edge in zip(plain.interval_months, wide.interval_months, strict=True):
        doubled = plain.age_months + 2 * (plain_edge - plain.age_months)
        assert wide_edge == pytest.approx(min(max(doubled, 0.0), 228.0))
    assert wide.interval_months != plain.interval_months
    assert estimate_age(scaled, hand, "F", "ratios") == estimate_age(table, hand, "F", "ratios")


def test_a_version_1_table_still_loads_without_interval_scales(table, tmp_path):
    raw = table.to_json()
    assert raw["schema"] == SCHEMA
    raw["schema"] = "boneage-reference/1"
    del raw["interval_scales"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(raw))
    assert ReferenceTable.load(path).interval_scales == {}


def test_a_small_bone_off_by_twice_its_own_scatter_is_not_flagged(table):
    """A distal phalanx 12 % long is about two of its SDs off: within what hands show, though its
    flat curve puts its own age years away from the others'."""
    hand = hand_at(84.0, "F", spacing=True, scale={"distal_phalanx_4": 1.12})
    estimate = estimate_age(table, hand, "F", "absolute_mm")
    own = {b.bone: b.age_months for b in estimate.bone_ages}
    assert abs(own["distal_phalanx_4"] - 84.0) > 24  # the old age-distance rule flagged this
    assert estimate.outliers == ()

from __future__ import annotations

import pytest

from boneage.report.chronological import bone_age_sd_months, compare


def test_sd_is_interpolated_between_tabulated_ages() -> None:
    # Greulich & Pyle boys: 9.17 months at 6 y, 8.91 at 7 y.
    assert bone_age_sd_months(78, "M") == pytest.approx((9.17 + 8.91) / 2)


def test_sd_is_held_at_the_ends_of_the_table() -> None:
    assert bone_age_sd_months(0, "F") == pytest.approx(0.72)
    assert bone_age_sd_months(240, "F") == pytest.approx(7.31)


@pytest.mark.parametrize(
    ("bone_age", "category"),
    [(120.0, "within normal"), (96.0, "delayed"), (144.0, "advanced")],
)
def test_category_follows_two_sd_limits(bone_age: float, category: str) -> None:
    # Girls at 10 y: SD 10.74 months, so ±2 SD is about ±21.5 months.
    comparison = compare(bone_age, 120.0, "F")
    assert comparison.category == category
    assert comparison.difference_months == pytest.approx(bone_age - 120.0)
    assert comparison.sds == pytest.approx((bone_age - 120.0) / 10.74, abs=0.01)


def test_a_wide_interval_gets_no_category_and_says_why() -> None:
    # An 18-month-old read at 135 months (66-204): even the low end lies beyond +2 SD (7 months).
    reading = compare(135.0, 18.0, "M", (66.0, 204.0))
    assert reading.category == "advanced"  # the whole interval lies beyond +2 SD
    straddling = compare(40.0, 24.0, "F", (20.0, 60.0))
    assert straddling.category == "not determined"
    assert "reaches from within normal to advanced" in straddling.category_reason
    assert straddling.sds > 2  # the centre alone would have said advanced


def test_a_narrow_interval_inside_the_normal_band_is_within_normal() -> None:
    reading = compare(122.0, 120.0, "F", (112.0, 132.0))
    assert reading.category == "within normal"
    assert "whole 90 % interval" in reading.category_reason


def test_the_sds_carries_the_interval_of_the_estimate() -> None:
    sd = float(bone_age_sd_months(120.0, "F"))
    reading = compare(130.0, 120.0, "F", (110.0, 150.0))
    assert reading.sds_interval == pytest.approx((-10.0 / sd, 30.0 / sd), abs=0.01)
    assert compare(130.0, 120.0, "F").sds_interval is None

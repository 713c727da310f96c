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


def test_a_band_is_named_only_when_it_is_90_percent_likely_and_the_odds_are_given() -> None:
    # An 18-month-old read at 135 months (66-204): the whole distribution lies beyond +2 SD.
    reading = compare(135.0, 18.0, "M", (66.0, 204.0))
    assert reading.category == "advanced" and reading.odds.advanced > 0.99
    straddling = compare(40.0, 24.0, "F", (20.0, 60.0))
    assert straddling.category == "not determined"
    assert straddling.category_reason.startswith("advanced 71 % likely, within normal 27 %")
    assert "no reading reaches 90 %" in straddling.category_reason
    assert straddling.sds > 2  # the centre alone would have said advanced
    odds = straddling.odds
    assert odds.delayed + odds.within_normal + odds.advanced == pytest.approx(1.0, abs=1e-3)


def test_the_odds_follow_the_normal_distribution_of_the_interval() -> None:
    # Girls at 10 y: ±2 SD = ±21.48 months. An estimate of 90 months, SD 10 (interval ±16.45):
    # P(below 98.52) = Phi(0.852) = 0.803, so "delayed" is 80 % likely and not yet named.
    reading = compare(90.0, 120.0, "F", (90.0 - 16.449, 90.0 + 16.449))
    assert reading.odds.delayed == pytest.approx(0.803, abs=0.002)
    assert reading.category == "not determined"
    # 6 months further down: P = Phi(1.452) = 0.927, named
    assert compare(84.0, 120.0, "F", (84.0 - 16.449, 84.0 + 16.449)).category == "delayed"


def test_an_interval_cut_at_birth_keeps_the_spread_of_its_wider_half() -> None:
    cut = compare(2.0, 12.0, "F", (0.0, 21.2))
    whole = compare(2.0, 12.0, "F", (2.0 - 19.2, 21.2))
    assert cut.odds == whole.odds


def test_a_narrow_interval_inside_the_normal_band_is_within_normal() -> None:
    reading = compare(122.0, 120.0, "F", (112.0, 132.0))
    assert reading.category == "within normal"
    assert reading.category_reason.startswith("within normal > 99 % likely")


def test_sds_beyond_five_are_clipped_and_said_to_be() -> None:
    # At 1 year the table's SD is under 2 months: an estimate 20 months high is SDS +10
    reading = compare(32.0, 12.0, "F", (10.0, 54.0))
    assert reading.sds == 5.0 and reading.sds_interval[1] == 5.0
    assert "shown as ±5" in reading.sds_note
    assert compare(122.0, 120.0, "F", (112.0, 132.0)).sds_note is None
    # past the table (17 y) the nearest SD is used, and said to be
    assert "nearest tabulated age (204 months)" in compare(220.0, 216.0, "M").sds_note


def test_the_sds_carries_the_interval_of_the_estimate() -> None:
    sd = float(bone_age_sd_months(120.0, "F"))
    reading = compare(130.0, 120.0, "F", (110.0, 150.0))
    assert reading.sds_interval == pytest.approx((-10.0 / sd, 30.0 / sd), abs=0.01)
    assert compare(130.0, 120.0, "F").sds_interval is None

from __future__ import annotations

import pytest

from boneage.chronological import bone_age_sd_months, compare


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

"""Calibrating the reference table's intervals on measurements it was not fitted to."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from boneage import anatomy
from boneage.reference import ReferenceTable, default_reference, estimate_age
from boneage.training.reference_fit import Sample, calibrate_interval_scales, fit_reference
from tests.boneage.reference_hands import hand_at


@pytest.fixture(scope="module")
def table() -> ReferenceTable:
    return default_reference()


def _hands_with_size_error(n: int, rng: np.random.Generator) -> list[Sample]:
    """Hands whose every length is off by one shared factor of SD 25 %, about four times the
    length scatter the default table allows (6.5 % CV), as from a segmentation that draws all
    bones long or short."""
    samples = []
    for _ in range(n):
        age, sex = float(rng.uniform(24.0, 180.0)), str(rng.choice(["F", "M"]))
        size = dict.fromkeys(anatomy.LENGTH_BONES, float(rng.normal(1.0, 0.25)))
        samples.append(Sample(hand_at(age, sex, spacing=True, scale=size), age, sex))
    return samples


def _coverage(table: ReferenceTable, samples: list[Sample], mode: str) -> float:
    inside = []
    for sample in samples:
        low, high = estimate_age(table, sample.measurements, sample.sex, mode).interval_months
        inside.append(low <= sample.age_months <= high)
    return float(np.mean(inside))


def test_interval_scales_restore_coverage_where_measurements_are_noisier_than_the_table(table):
    rng = np.random.default_rng(0)
    calibration, fresh = _hands_with_size_error(150, rng), _hands_with_size_error(150, rng)
    scales = calibrate_interval_scales(table, calibration)
    calibrated = dataclasses.replace(table, interval_scales=scales)
    assert _coverage(table, fresh, "absolute_mm") < 0.8
    assert scales["absolute_mm"] > 1.5
    assert _coverage(calibrated, fresh, "absolute_mm") >= 0.85
    # A size error shared by all bones cancels in the ratios, which need no widening.
    assert scales["ratios"] < 1.0
    assert _coverage(calibrated, fresh, "ratios") >= 0.85


def test_a_feature_seen_in_a_few_hands_spread_over_many_years_is_left_out(table):
    """Eleven boys' hands from 4 to 18 years carry an epiphysis size: enough hands, too thin a
    spread for any age to be fitted from (it crashed the fit before)."""
    rng = np.random.default_rng(1)
    samples = _hands_with_size_error(160, rng)
    sparse_ages = np.linspace(53.0, 212.0, 11)
    for i, age in enumerate(sparse_ages):
        hand = hand_at(float(age), "M", spacing=True)
        epiphysis = dataclasses.replace(
            hand.bones["metacarpal_3"],
            bone="distal_phalanx_5_epiphysis",
            kind="epiphysis",
            relative_size=0.8,
        )
        samples[i] = Sample(
            dataclasses.replace(hand, bones={**hand.bones, epiphysis.bone: epiphysis}),
            float(age),
            "M",
        )
    fitted = fit_reference(samples, name="sparse", version="0", source="test")
    assert "length_mm:metacarpal_3" in fitted.sexes["M"].continuous
    assert "relative_size:distal_phalanx_5_epiphysis" not in fitted.sexes["M"].continuous


def test_a_fit_whose_calibration_half_cannot_read_one_sex_still_fits():
    """Forty-three girls and seven boys, every boy at an odd position: the temperature is
    calibrated on the odd hands through a table of the even ones, which has no boy to fit. The
    boys are left out of that calibration instead of aborting the fit (as they did)."""
    rng = np.random.default_rng(2)
    samples = []
    for index in range(50):
        sex = "M" if index % 8 == 1 else "F"
        age = float(rng.uniform(24.0, 180.0))
        samples.append(Sample(hand_at(age, sex, spacing=False), age, sex))
    table = fit_reference(samples, name="few-boys", version="0", source="test")
    girls = table.sexes["F"]
    assert girls.continuous and girls.binary
    girl = next(s for s in samples if s.sex == "F")
    low, high = estimate_age(table, girl.measurements, "F", "ratios").interval_months
    assert low <= girl.age_months <= high

"""The combined estimate: the two paths pooled by their uncertainty, only when they agree, and
a rule fitted on calibration films whose interval holds 90 %."""

from __future__ import annotations

import numpy as np
import pytest

from boneage.combined import Combination
from boneage.contract import AgreementRecord, Estimate
from boneage.report.notes import compare_estimates
from boneage.training.combined.fit import Pairs, fit_combination


def _estimate(age: float, half: float) -> Estimate:
    return Estimate(age_months=age, interval_months=(max(0.0, age - half), age + half))


def test_equal_uncertainties_meet_in_the_middle_and_the_surer_path_pulls_harder():
    rule = Combination(multistep_weight=1.0, interval_scale=1.645)
    age, low, high = rule.interval((100.0, 80.0, 120.0), (110.0, 90.0, 130.0))
    assert age == pytest.approx(105.0)
    # two independent 20-month half-widths pool to 20 / sqrt(2)
    assert high - age == pytest.approx(20 / np.sqrt(2), rel=1e-3)
    age, _, _ = rule.interval((100.0, 95.0, 105.0), (110.0, 90.0, 130.0))
    assert 100 < age < 102
    heavier = Combination(multistep_weight=4.0, interval_scale=1.645)
    assert heavier.interval((100.0, 80.0, 120.0), (110.0, 90.0, 130.0))[0] == pytest.approx(102.0)


def test_no_estimate_or_interval_below_birth():
    rule = Combination(multistep_weight=1.0, interval_scale=1.645)
    age, low, _ = rule.interval((2.0, 0.0, 20.0), (1.0, 0.0, 22.0))
    assert age >= 0 and low == 0.0


def test_agreeing_paths_are_combined_with_the_rule_named():
    multistep, endtoend = _estimate(100, 25), _estimate(108, 20)
    combined = Combination(1.0, 1.645).combine(
        multistep, endtoend, compare_estimates(multistep, endtoend)
    )
    assert combined.answered and 100 < combined.age_months < 108
    assert "inverse-variance" in combined.rule


def test_disagreeing_paths_give_no_combined_estimate_and_say_why():
    multistep, endtoend = _estimate(60, 10), _estimate(140, 10)
    agreement = compare_estimates(multistep, endtoend)
    assert agreement.agree is False
    combined = Combination(1.0, 1.645).combine(multistep, endtoend, agreement)
    assert not combined.answered
    assert "differ by 80 months" in combined.rejected and "flagged" in combined.rejected


def test_one_path_alone_is_not_combined():
    missing = Estimate(rejected="no hand")
    agreement = AgreementRecord(
        agree=None, difference_months=None, flag_for_review=True, reason="", limit_months=None
    )
    combined = Combination(1.0, 1.645).combine(_estimate(100, 20), missing, agreement)
    assert not combined.answered and "Only one path" in combined.rejected


def test_the_fitted_rule_favours_the_better_path_and_covers_90_percent_of_new_films():
    rng = np.random.default_rng(0)
    truth = rng.uniform(20, 200, 4000)
    # the end-to-end path is the better one here, but both state the same interval
    multistep = truth + rng.normal(0, 14, truth.size)
    endtoend = truth + rng.normal(0, 9, truth.size)
    half = np.full(truth.size, 25.0)

    def pairs(s: slice) -> Pairs:
        return Pairs(
            np.stack([multistep[s], multistep[s] - half[s], multistep[s] + half[s]], 1),
            np.stack([endtoend[s], endtoend[s] - half[s], endtoend[s] + half[s]], 1),
            truth[s],
        )

    rule, figures = fit_combination(pairs(slice(0, 2000)))
    # the optimal weight is (1/14²)/(1/9²) ≈ 0.41
    assert 0.25 < rule.multistep_weight < 0.65
    assert figures["mae_chosen_half"] < figures["mae_endtoend_chosen_half"]
    new = pairs(slice(2000, 4000))
    pooled = np.array(
        [
            rule.interval(tuple(m), tuple(e))
            for m, e in zip(new.multistep, new.endtoend, strict=True)
        ]
    )
    inside = (new.truth >= pooled[:, 1]) & (new.truth <= pooled[:, 2])
    assert 0.87 <= inside.mean() <= 0.93

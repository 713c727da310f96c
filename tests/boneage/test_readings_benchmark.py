"""The readings benchmark: each film read against chronological ages at known offsets."""

from __future__ import annotations

import pytest

from boneage.evaluation.readings import format_readings, measure_readings
from boneage.registry import load_models
from tests.boneage.real_sample import RSNA_SAMPLE


@pytest.fixture(scope="module")
def result():
    return measure_readings(
        RSNA_SAMPLE, load_models(), split="val", limit=4, offsets=(-36.0, 0.0, 36.0)
    )


def test_each_film_is_read_at_every_offset_against_the_band_of_its_true_age(result):
    assert result.films == 4 and sum(result.source.values()) + result.without_estimate == 4
    by_offset = {o.offset_months: o for o in result.offsets}
    answered = sum(result.source.values())
    assert by_offset[0.0].cases == by_offset[36.0].cases == answered
    # 36 months behind is beyond 2 SD at every age; the true age itself is within normal
    assert by_offset[36.0].by_truth == {"delayed": answered}
    assert by_offset[0.0].by_truth == {"within normal": answered}
    for offset in result.offsets:
        assert 0 <= offset.wrong <= offset.named <= offset.cases


def test_the_summary_gives_the_two_figures_the_issue_asks_for(result):
    data = result.to_dict()
    assert 0.0 <= data["named_at_36"] <= 1.0 and 0.0 <= data["wrong_of_all"] <= 1.0
    text = format_readings(result)
    assert "of the ±36-month cases (target ≥ 60 %)" in text and "(target < 2 %)" in text

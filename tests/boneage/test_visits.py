"""A child across visits: velocities by hand, their intervals, and the chart."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image

from boneage.report.visits import Visit, VisitEstimate, render_visits_chart, velocities


def _visit(label: str, age: float | None, **ages: float) -> Visit:
    signed = ages.pop("signed", None)
    estimates = {
        path: VisitEstimate(value, (value - 16.45, value + 16.45)) for path, value in ages.items()
    }
    return Visit(label, age, estimates, signed)


def test_a_velocity_is_the_bone_age_gained_per_year_with_an_interval_from_both_estimates():
    # 24 months of bone age over 12 months of life: 2 bone-age years per year. Each interval is
    # ±16.45 months (SD 10 months), so the velocity's SD is hypot(10, 10) / 12 = 1.1785.
    first = _visit("#1", 96.0, multistep=90.0, endtoend=100.0, signed=95.0)
    second = _visit("#2", 108.0, multistep=114.0, endtoend=106.0, signed=113.0)
    found = {velocity.source: velocity for velocity in velocities([first, second])}
    assert set(found) == {"multi-step", "end-to-end", "signed"}
    assert found["multi-step"].years_per_year == pytest.approx(2.0)
    assert found["end-to-end"].years_per_year == pytest.approx(0.5)
    assert found["signed"].years_per_year == pytest.approx(1.5)
    assert found["signed"].interval is None
    half = 1.6449 * math.hypot(10, 10) / 12
    low, high = found["multi-step"].interval
    assert (low, high) == pytest.approx((2.0 - half, 2.0 + half), abs=1e-3)
    assert (found["multi-step"].start, found["multi-step"].end) == ("#1", "#2")


def test_no_velocity_without_two_ages_in_order_or_without_the_same_path_at_both():
    assert (
        velocities([_visit("#1", None, multistep=90.0), _visit("#2", 108.0, multistep=99.0)]) == []
    )
    assert (
        velocities([_visit("#1", 108.0, multistep=90.0), _visit("#2", 108.0, multistep=99.0)]) == []
    )
    only_one_path = velocities(
        [_visit("#1", 96.0, multistep=90.0), _visit("#2", 108.0, endtoend=99.0)]
    )
    assert only_one_path == []


def test_a_visit_without_an_age_is_skipped_and_the_next_pair_is_read_across_it():
    visits = [
        _visit("#1", 96.0, endtoend=96.0),
        _visit("#2", None, endtoend=150.0),
        _visit("#3", 120.0, endtoend=120.0),
    ]
    (velocity,) = velocities(visits)
    assert (velocity.start, velocity.end, velocity.years_per_year) == ("#1", "#3", 1.0)


def test_a_signed_bone_age_of_zero_is_a_signed_bone_age():
    visits = [_visit("#1", 1.0, signed=0.0), _visit("#2", 13.0, signed=12.0)]
    (velocity,) = velocities(visits)
    assert velocity.years_per_year == pytest.approx(1.0)


def test_the_chart_is_a_png_and_shows_a_child_older_than_eighteen():
    visits = [
        _visit("#1", 200.0, endtoend=190.0, signed=195.0),
        _visit("#2", 230.0, multistep=220.0),
    ]
    image = Image.open(io.BytesIO(render_visits_chart(visits, "M")))
    assert image.format == "PNG" and image.width > 300

"""Split-conformal interval calibration."""

from __future__ import annotations

import numpy as np
import pytest

from boneage.training.common.conformal import conformal_scale


def test_conformal_scale_gives_the_requested_coverage_on_new_cases():
    rng = np.random.default_rng(0)
    sd = rng.uniform(5, 20, 4000)
    residuals = rng.normal(0, sd * 1.7)
    scale = conformal_scale(residuals[:1000], sd[:1000], 0.9)
    assert scale == pytest.approx(1.645 * 1.7, rel=0.1)
    coverage = np.mean(np.abs(residuals[1000:]) <= scale * sd[1000:])
    assert 0.88 <= coverage <= 0.92

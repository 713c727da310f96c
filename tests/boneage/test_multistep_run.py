"""The shipped multi-step path on its own: the landmark U-Net, the measurement and the fitted
table of ``boneage/demo_models`` on real films, framed as the quality stage frames them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boneage.contract import MultistepEstimate
from boneage.errors import MissingSex
from boneage.framing.field import field_square
from boneage.multistep.run import MIN_MEASURED_BONES, run_landmark_multistep
from boneage.registry import ModelBundle, load_models
from tests.boneage.real_sample import real_film, val_ids

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def models() -> ModelBundle:
    return load_models()


@pytest.fixture(scope="module")
def film() -> np.ndarray:
    return field_square(real_film(val_ids()[0])).image


def test_a_real_film_gives_an_age_inside_its_interval_with_its_evidence(models, film):
    reading = run_landmark_multistep(
        film, spacing_mm=None, sex="F", network=models.landmarks, reference=models.reference
    )
    estimate = reading.estimate
    assert isinstance(estimate, MultistepEstimate) and estimate.rejected is None
    low, high = estimate.interval_months
    assert 0 <= low <= estimate.age_months <= high <= 228
    assert estimate.spacing_mode == "ratios"  # no pixel spacing: lengths over the hand's scale
    assert estimate.reference == models.reference.ident
    assert len(reading.measurements.lengths_px) >= MIN_MEASURED_BONES
    long_bones = [row for row in estimate.bones if row.kind == "long"]
    assert long_bones and all(row.length_mm is None for row in long_bones)
    assert all(row.length_ratio > 0 for row in long_bones)
    assert estimate.landmarks.scale_px == pytest.approx(reading.measurements.scale_px, abs=0.05)
    assert set(estimate.outliers) == set(reading.lookup.outliers)
    height, width = film.shape
    assert reading.overlay.shape == (2 * height, 2 * width, 3)
    assert reading.overlay.dtype == np.uint8


def test_the_same_film_read_as_female_and_male_differs_only_in_the_table(models, film):
    """The landmarks and measurements do not depend on sex; the table's reading does."""
    female, male = (
        run_landmark_multistep(
            film, spacing_mm=None, sex=sex, network=models.landmarks, reference=models.reference
        )
        for sex in ("F", "M")
    )
    assert female.measurements == male.measurements
    assert female.estimate.age_months != male.estimate.age_months


def test_a_film_without_a_hand_is_rejected_in_words_with_an_overlay(models):
    empty = np.zeros((256, 256), np.float32)
    reading = run_landmark_multistep(
        empty, spacing_mm=None, sex="M", network=models.landmarks, reference=models.reference
    )
    assert reading.estimate.rejected and len(reading.estimate.rejected) > 20
    assert reading.estimate.age_months is None and reading.lookup is None
    assert reading.overlay.shape == (512, 512, 3)


def test_sex_is_required(models, film):
    with pytest.raises(MissingSex):
        run_landmark_multistep(
            film, spacing_mm=None, sex=None, network=models.landmarks, reference=models.reference
        )

"""The shipped end-to-end CNN: trained on real radiographs, and as accurate on real films of the
validation split as its card says."""

from __future__ import annotations

import numpy as np
import pytest

from boneage.assess import assess
from boneage.io import read_radiograph
from boneage.registry import ModelBundle, load_models
from boneage.training.common.datasets import RsnaDataset
from tests.boneage.real_sample import RSNA_SAMPLE


@pytest.fixture(scope="module")
def models() -> ModelBundle:
    return load_models()


def test_card_says_what_it_was_trained_on_and_under_which_terms(models):
    card = models.cards.cnn
    assert card.training_data.kind == "rsna-2017-train"
    assert card.training_data.size > 9000
    assert "non-commercial research" in card.training_data.description
    assert card.held_out.kind == "rsna-2017-val"
    assert 0.85 <= card.held_out.coverage_90 <= 0.95
    assert any(key.startswith("mae/") for key in card.held_out.metrics)


def test_real_validation_films_are_read_about_as_well_as_the_card_says(models):
    card = models.cards.cnn
    errors, inside = [], []
    for record in RsnaDataset(RSNA_SAMPLE, split="val").records:
        result = assess(read_radiograph(record.image_path), models=models, sex=record.sex)
        estimate = result.to_dict()["endtoend"]
        assert "age_months" in estimate, estimate
        low, high = estimate["interval_months"]
        errors.append(abs(estimate["age_months"] - record.age_months))
        inside.append(low <= record.age_months <= high)
        assert "RSNA 2017" in estimate["note"]
    # 40 films, eight in each age band: a broken model or framing reads them 40+ months off.
    assert np.mean(errors) < 2 * card.held_out.mae_months
    assert np.mean(inside) >= 0.7

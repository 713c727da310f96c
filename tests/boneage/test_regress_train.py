"""Training the CNN: checkpoint and card written, resumable, held-out numbers on the card."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from boneage.endtoend.cnn import load_regressor
from boneage.modelcard import ModelCard
from boneage.phantom.regress_train import (
    RegressTrainConfig,
    phantom_sample,
    phantom_splits,
    train_regression,
)

torch.set_num_threads(1)
DEMO = Path(__file__).resolve().parents[2] / "boneage" / "demo_models" / "cnn-phantom"


def test_training_calibration_and_held_out_seeds_are_disjoint():
    train, calibration, held_out = phantom_splits(RegressTrainConfig(n_train=50))
    assert not set(train) & set(calibration)
    assert not set(train) & set(held_out)
    assert not set(calibration) & set(held_out)


def test_tiny_run_writes_weights_card_and_resumes(tmp_path):
    config = RegressTrainConfig(n_train=6, epochs=1, n_calibration=4, n_held_out=4, batch_size=4)
    card = train_regression(config, tmp_path, device="cpu")
    weights = tmp_path / card.file
    assert card.kind == "regression"
    assert card.file_sha256 == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert card.held_out.size == 4 and 0.0 <= card.held_out.coverage_90 <= 1.0
    assert ModelCard.load(tmp_path / "card.json") == card
    resumed = train_regression(
        RegressTrainConfig(**{**config.__dict__, "epochs": 2}), tmp_path, resume=True, device="cpu"
    )
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["epoch"] == 1
    assert resumed.file_sha256 != card.file_sha256


@pytest.mark.training
@pytest.mark.skipif(not (DEMO / "card.json").exists(), reason="no demo model")
def test_demo_model_card_numbers_hold_on_its_held_out_phantoms():
    card = ModelCard.load(DEMO / "card.json")
    assert 0.85 <= card.held_out.coverage_90 <= 0.95
    regressor = load_regressor(DEMO / card.file)
    _, _, held_out = phantom_splits(RegressTrainConfig(n_held_out=card.held_out.size))
    errors = []
    for seed in held_out:
        sample = phantom_sample(seed)
        estimate = regressor.predict(sample.image, "M" if sample.male else "F")
        errors.append(abs(estimate.age_months - sample.age_months))
    assert sum(errors) / len(errors) < 2 * card.held_out.mae_months

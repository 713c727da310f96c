"""The end-to-end CNN: calibration, checkpoints, prediction."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from boneage.endtoend.cnn import (
    AgeRegressor,
    Regressor,
    RegressorConfig,
    load_regressor,
)
from boneage.errors import ModelUnavailable

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def regressor():
    torch.manual_seed(0)
    return Regressor(network=AgeRegressor(RegressorConfig()), interval_scale=2.0)


def test_checkpoint_round_trip_is_small_and_predicts_the_same(regressor, tmp_path):
    path = tmp_path / "cnn.pt"
    regressor.save(path)
    assert path.stat().st_size < 8 * 1024 * 1024
    loaded = load_regressor(path)
    assert loaded.interval_scale == 2.0
    image = np.random.default_rng(1).random((256, 256)).astype(np.float32)
    a, b = regressor.predict(image, "F"), loaded.predict(image, "F")
    assert b.age_months == pytest.approx(a.age_months, abs=1.0)


def test_interval_is_the_calibrated_multiple_of_the_sd(regressor):
    estimate = regressor.predict(np.zeros((256, 256), np.float32), "M")
    low, high = estimate.interval_months
    assert low < estimate.age_months < high
    assert high - estimate.age_months == pytest.approx(2.0 * estimate.sd_months, rel=1e-5)
    assert low == pytest.approx(max(0.0, estimate.age_months - 2.0 * estimate.sd_months), abs=1e-4)


def test_sex_must_be_f_or_m(regressor):
    with pytest.raises(ValueError, match="sex"):
        regressor.predict(np.zeros((256, 256), np.float32), "X")


def test_unreadable_checkpoint_is_model_unavailable(tmp_path):
    path = tmp_path / "cnn.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelUnavailable, match="cannot be loaded"):
        load_regressor(path)


def test_mirror_averaging_reads_a_film_and_its_mirror_image_alike():
    torch.manual_seed(0)
    config = RegressorConfig(encoder="resnet10t", input_side=64, framing="field")
    network = AgeRegressor(dataclasses.replace(config, mirror_average=True)).eval()
    averaged = Regressor(network, 1.645)
    plain = Regressor(AgeRegressor(config).eval(), 1.645)
    plain.network.load_state_dict(network.state_dict())
    film = np.random.default_rng(0).random((2, 96, 96)).astype(np.float32)
    male = np.array([0.0, 1.0])
    mean, sd = averaged.predict_batch(film, male)
    mirrored_mean, mirrored_sd = averaged.predict_batch(film[:, :, ::-1].copy(), male)
    np.testing.assert_allclose(mean, mirrored_mean, rtol=1e-4)
    np.testing.assert_allclose(sd, mirrored_sd, rtol=1e-4)
    one, _ = plain.predict_batch(film, male)
    other, _ = plain.predict_batch(film[:, :, ::-1].copy(), male)
    np.testing.assert_allclose(mean, (one + other) / 2, rtol=1e-4)

"""The end-to-end ensemble: members trained apart, read as the mixture of their Gaussians; and a
member continued from a trained one under a fresh schedule."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from boneage.endtoend.cnn import (
    AgeEnsemble,
    AgeRegressor,
    Regressor,
    RegressorConfig,
    load_regressor,
)
from boneage.training.cnn.ensemble import build_ensemble
from boneage.training.cnn.run import train_real_regression
from boneage.training.cnn.train import CNN_NETWORK
from boneage.training.common.config import TrainConfig
from boneage.training.common.image_cache import build_cache
from tests.boneage.real_sample import RSNA_SAMPLE

TINY = RegressorConfig(encoder="resnet10t", input_side=32, framing="field")


def _members(seeds: tuple[int, ...]) -> list[AgeRegressor]:
    members = []
    for seed in seeds:
        torch.manual_seed(seed)
        members.append(AgeRegressor(TINY).eval())
    return members


def test_the_mixture_averages_the_means_and_widens_by_their_spread():
    members = _members((0, 1))
    image, male = torch.rand(3, 1, 32, 32), torch.tensor([0.0, 1.0, 1.0])
    with torch.no_grad():
        outputs = [member(image, male) for member in members]
        mean, log_var = AgeEnsemble(members)(image, male)
    means = torch.stack([m for m, _ in outputs])
    variances = torch.stack([lv.exp() for _, lv in outputs])
    assert torch.allclose(mean, means.mean(0), atol=1e-6)
    expected = variances.mean(0) + ((means - means.mean(0)) ** 2).mean(0)
    assert torch.allclose(log_var.exp(), expected, rtol=1e-4)
    # members that disagree give a wider interval than the average member's
    assert bool((log_var.exp() >= variances.mean(0) - 1e-7).all())


def test_members_of_other_configurations_are_refused():
    other = AgeRegressor(replace(TINY, input_side=48))
    with pytest.raises(ValueError, match="share one configuration"):
        AgeEnsemble([*_members((0,)), other])


def test_an_ensemble_checkpoint_loads_back_with_its_members(tmp_path):
    regressor = Regressor(AgeEnsemble(_members((0, 1, 2))), interval_scale=1.7)
    regressor.save(tmp_path / "cnn.pt")
    loaded = load_regressor(tmp_path / "cnn.pt")
    assert loaded.members == 3 and loaded.interval_scale == pytest.approx(1.7)
    images, male = np.random.default_rng(0).random((2, 32, 32)), np.array([0.0, 1.0])
    # float16 weights: the loaded ensemble answers as the saved one, to half precision
    np.testing.assert_allclose(
        loaded.predict_batch(images, male)[0], regressor.predict_batch(images, male)[0], atol=0.5
    )


def _train(work, seed: int, split_seed: int | None, *, out: str | None = None, **options):
    """A field CNN trained a few steps on the sample films into ``work / m<seed>`` (or
    ``out``); ``options`` go to :func:`train_real_regression`, ``learning_rate`` to the run."""
    rate = options.pop("learning_rate", 2e-3)
    return train_real_regression(
        work / "sample.npz",
        work / (out or f"m{seed}"),
        TrainConfig(
            budget_minutes=0.02, batch_size=2, bfloat16=False, seed=seed, learning_rate=rate
        ),
        network=replace(CNN_NETWORK, input_side=32),
        n_calibration=2,
        split_seed=split_seed,
        name=out or f"m{seed}",
        **options,
    )


def _join(work, names: list[str], out: str):
    return build_ensemble(
        work / "sample.npz",
        [work / name for name in names],
        work / out,
        landmarks=None,
        name=out,
        version="1.0.0",
    )


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """Two field CNNs trained a few steps on the sample films, seeds 0 and 1, one slice."""
    work = tmp_path_factory.mktemp("ensemble")
    build_cache(RSNA_SAMPLE, work / "sample.npz", workers=1)
    for seed in (0, 1):
        _train(work, seed, split_seed=0)
    return work


def test_build_ensemble_calibrates_the_mixture_on_the_shared_slice(members):
    card = _join(members, ["m0", "m1"], "both")
    ensemble = load_regressor(members / "both" / "cnn.pt")
    assert ensemble.members == 2
    assert card.settings["members"] == ["m0@1.0.0", "m1@1.0.0"]
    assert card.held_out.metrics["calibration_size"] == 2.0
    scale = card.held_out.metrics["interval_scale"]
    assert ensemble.interval_scale == pytest.approx(scale, abs=1e-4)
    assert "ensemble of 2" in card.architecture and "m0@1.0.0" in card.training_data.description


def test_members_calibrated_on_other_slices_are_refused(members):
    _train(members, 2, split_seed=None)  # its slice drawn by its own seed, 2
    with pytest.raises(ValueError, match="different slices"):
        _join(members, ["m0", "m2"], "out")


def test_a_continued_member_starts_from_the_trained_weights_and_counts_its_epochs(members):
    # at a learning rate of 0 the continued network's weights are the ones it started from (only
    # the batch-norm statistics move, as in any training step)
    card = _train(members, 3, 0, out="c0", start_from=members / "m0", learning_rate=0.0)

    def weights(name: str) -> dict[str, torch.Tensor]:
        return dict(load_regressor(members / name / "cnn.pt").network.named_parameters())

    start, continued, other = weights("m0"), weights("c0"), weights("m1")
    assert all(torch.equal(continued[key], start[key]) for key in start)
    assert not all(torch.equal(other[key], start[key]) for key in start)
    assert card.settings["started_from"] == "m0@1.0.0"
    assert card.settings["epochs_total"] > card.settings["epochs"]
    assert "continued from m0@1.0.0" in card.training_data.description


def test_continuing_a_member_of_another_slice_is_refused(members):
    _train(members, 4, split_seed=None)  # its calibration slice drawn by its own seed, 4
    with pytest.raises(ValueError, match="same split"):
        _train(members, 5, 0, out="c4", start_from=members / "m4")

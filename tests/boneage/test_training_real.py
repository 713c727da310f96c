"""Training on real films: the decoded cache, the time-budgeted CNN loop, the gate's negatives."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from boneage.quality.gate import CLASSES, GATE_SIDE
from boneage.report.age_bands import band_errors
from boneage.training.cnn.train import CNN_NETWORK, fit_real
from boneage.training.common.augment import augment_batch
from boneage.training.common.config import TrainConfig
from boneage.training.common.image_cache import CACHE_SIDE, ImageCache, at_side, build_cache
from boneage.training.common.splits import real_splits
from boneage.training.gate.train import make_negatives
from tests.boneage.real_sample import RSNA_SAMPLE


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> ImageCache:
    path = tmp_path_factory.mktemp("cache") / "sample.npz"
    build_cache(RSNA_SAMPLE, path, workers=1)
    return ImageCache.load(path)


def test_cache_holds_every_film_once_with_labels_and_split(cache):
    assert cache.images.shape == (44, CACHE_SIDE, CACHE_SIDE)
    assert cache.images.dtype == np.uint8
    assert sorted(np.unique(cache.split)) == ["train", "val"]
    assert (cache.split == "val").sum() == 40
    assert cache.age_months.min() >= 0 and cache.age_months.max() <= 240
    assert set(np.unique(cache.male)) == {0.0, 1.0}


def test_splits_keep_val_apart_and_calibration_out_of_training(cache):
    doubled = ImageCache(
        *(np.concatenate([getattr(cache, f)] * 3) for f in cache.__dataclass_fields__)
    )
    splits = real_splits(doubled.split, n_calibration=4, seed=0)
    assert len(splits.calibration) == 4 and len(splits.train) == 8
    assert not set(splits.train) & set(splits.calibration)
    assert (doubled.split[splits.val] == "val").all()
    with pytest.raises(ValueError, match="cannot spare"):
        real_splits(cache.split, n_calibration=4, seed=0)


def test_augmentation_keeps_range_and_shape_and_changes_the_image():
    images = torch.rand(6, 1, 48, 48)
    out = augment_batch(images, torch.Generator().manual_seed(0)).images
    assert out.shape == images.shape
    assert out.min() >= 0 and out.max() <= 1
    assert (out - images).abs().mean() > 0.01


def test_training_stops_at_its_budget_and_resumes_from_its_checkpoint(cache, tmp_path):
    images = at_side(cache.images, 64)
    config = TrainConfig(budget_minutes=0.05, batch_size=8, bfloat16=False)
    network = replace(CNN_NETWORK, input_side=64)
    checkpoint = tmp_path / "checkpoint.pt"
    regressor, first = fit_real(
        config, images, cache.male, cache.age_months, network=network, checkpoint=checkpoint
    )
    assert first.steps >= 1 and checkpoint.exists()
    assert regressor.framing == "field"
    longer = TrainConfig(budget_minutes=0.1, batch_size=8, bfloat16=False)
    _, second = fit_real(
        longer,
        images,
        cache.male,
        cache.age_months,
        network=network,
        checkpoint=checkpoint,
        resume=True,
    )
    assert second.steps > first.steps and second.seconds >= first.seconds
    mean, sd = regressor.predict_batch(cache.images[:3] / 255.0, cache.male[:3])
    assert mean.shape == (3,) and (sd > 0).all()


def test_age_bands_cover_the_truth_they_were_given():
    truth = np.array([10.0, 30.0, 100.0, 200.0])
    bands = band_errors(truth, truth + 5)
    assert bands == {"0-2 y": 5.0, "2-6 y": 5.0, "6-10 y": 5.0, "14+ y": 5.0}


def test_gate_negatives_of_every_kind_go_through_the_runtime_framing(cache):
    images, labels = make_negatives(cache.images[:5], 2, seed=0)
    assert images.shape == (8, GATE_SIDE, GATE_SIDE)
    assert sorted(set(labels)) == list(range(1, len(CLASSES)))
    assert images.min() >= 0 and images.max() <= 1


def test_cache_of_a_folder_without_labels_is_a_dataset_error(tmp_path: Path):
    from boneage.errors import DatasetError

    with pytest.raises(DatasetError):
        build_cache(tmp_path, tmp_path / "x.npz", workers=1)


def test_the_canonical_cnn_trains_on_crops_at_the_poses_the_landmark_net_finds(cache, tmp_path):
    from boneage.registry import load_models
    from boneage.training.cnn.poses import load_or_build_poses
    from boneage.training.cnn.train import CANONICAL_NETWORK, canonical_inputs, fit_canonical

    cache_path = tmp_path / "sample.npz"
    cache.save(cache_path)
    poses = load_or_build_poses(cache_path, cache, load_models().landmarks)
    assert (tmp_path / "sample.poses.npz").exists()
    # the shipped landmark U-Net puts most of these RSNA films into the pose (98 % of all 12,611)
    assert poses.found.mean() > 0.8
    found = np.flatnonzero(poses.found)
    crops = canonical_inputs(cache.images[found[:4]], poses.matrices[found[:4]], 64)
    assert crops.shape == (4, 1, 64, 64) and crops.min() >= 0 and crops.max() <= 1
    # the crop holds the hand: brighter in the middle than the corners, on average
    assert crops[:, :, 16:48, 16:48].mean() > crops[:, :, :8, :8].mean()
    config = TrainConfig(budget_minutes=0.05, batch_size=8, bfloat16=False)
    regressor, record = fit_canonical(
        config,
        cache.images[found],
        poses.matrices[found],
        cache.male[found],
        cache.age_months[found],
        network=replace(CANONICAL_NETWORK, input_side=64),
        checkpoint=tmp_path / "checkpoint.pt",
    )
    assert record.steps >= 1 and regressor.framing == "canonical"


def test_a_canonical_measurement_reads_each_posed_film_in_its_crop(cache, tmp_path):
    from boneage.registry import load_models
    from boneage.training.cnn.poses import load_or_build_poses
    from boneage.training.reference.hands import (
        NO_POSE,
        load_measured,
        measure_cache,
        save_measured,
    )

    cache_path = tmp_path / "sample.npz"
    cache.save(cache_path)
    network = load_models().landmarks
    poses = load_or_build_poses(cache_path, cache, network)
    field = measure_cache(cache, network)
    canonical = measure_cache(cache, network, poses=poses)
    assert [h.unposed for h in canonical] == [not found for found in poses.found]
    posed = [i for i, found in enumerate(poses.found) if found]
    assert any(canonical[i].sample.measurements != field[i].sample.measurements for i in posed)
    for i in np.flatnonzero(~poses.found):  # no pose: measured on the whole film, not fitted
        assert canonical[i].sample.measurements == field[i].sample.measurements
        assert canonical[i].rejection == NO_POSE
    save_measured(canonical, tmp_path / "hands.jsonl")
    again = load_measured(tmp_path / "hands.jsonl")
    assert [h.unposed for h in again] == [h.unposed for h in canonical]

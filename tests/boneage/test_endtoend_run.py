"""The end-to-end path's framing: the canonical crop when the palm places the hand, the
whole-film CNN when it does not, each said in words."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from boneage.endtoend.cnn import AgeRegressor, Regressor
from boneage.endtoend.run import read_endtoend
from boneage.framing.canonical import CanonicalPose, canonical_crop, hand_pose, pose_from_landmarks
from boneage.framing.field import INPUT_SIZE, frame_field
from boneage.multistep.landmarks import HandMap, Landmark, locate
from boneage.registry import load_models
from boneage.training.cnn.train import CANONICAL_NETWORK, CNN_NETWORK
from tests.boneage.real_sample import real_film, val_ids

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def models():
    return load_models()


def _regressor(network) -> Regressor:
    torch.manual_seed(0)
    return Regressor(network=AgeRegressor(network).eval(), interval_scale=1.645)


@pytest.fixture(scope="module")
def canonical() -> Regressor:
    return _regressor(replace(CANONICAL_NETWORK, input_side=64))


@pytest.fixture(scope="module")
def whole_film() -> Regressor:
    return _regressor(replace(CNN_NETWORK, input_side=64))


@pytest.fixture(scope="module")
def framed(models):
    # a film the shipped landmark U-Net places at its squashed RSNA aspect (the copies in the
    # test data are squashed to a square; an upload keeps its shape)
    field = frame_field(real_film(val_ids()[2]))
    image = field.at(INPUT_SIZE).image
    return field, image, locate(models.landmarks, image)


def _read(framed, hand, cnn, field_cnn, spacing=None):
    field, image, _ = framed
    return read_endtoend(
        field,
        hand_pose(field, hand.landmarks, INPUT_SIZE, spacing),
        field_image=image,
        sex="F",
        cnn=cnn,
        field_cnn=field_cnn,
    )


def test_a_real_film_is_read_in_the_canonical_crop_and_says_so(framed, canonical, whole_film):
    reading = _read(framed, framed[2], canonical, whole_film)
    assert reading.estimate.framing == "canonical" and reading.role == "regression"
    assert "canonical pose from" in reading.framing_note
    low, high = reading.estimate.interval_months
    assert 0 <= low <= reading.estimate.age_months <= high


def test_the_crop_holds_the_hand_at_the_film_s_own_resolution(framed):
    field, _, hand = framed
    pose = pose_from_landmarks(hand.landmarks, field.square.shape[0] / INPUT_SIZE)
    assert isinstance(pose, CanonicalPose) and not pose.mirrored
    crop = canonical_crop(field, pose, 128)
    mirrored_field = replace(field, square=field.square[:, ::-1].copy())
    mirrored_hand = HandMap(
        joint=hand.joint,
        epiphysis=hand.epiphysis,
        landmarks={
            name: Landmark(mark.row, INPUT_SIZE - 1 - mark.col, mark.confidence)
            for name, mark in hand.landmarks.items()
        },
    )
    mirrored_pose = pose_from_landmarks(mirrored_hand.landmarks, field.square.shape[0] / INPUT_SIZE)
    assert isinstance(mirrored_pose, CanonicalPose) and mirrored_pose.mirrored
    # the right hand's crop is the left hand's, pixel for pixel up to interpolation
    assert np.abs(canonical_crop(mirrored_field, mirrored_pose, 128) - crop).mean() < 0.01


def _unsure(hand: HandMap) -> HandMap:
    return replace(
        hand,
        landmarks={name: replace(mark, confidence=0.01) for name, mark in hand.landmarks.items()},
    )


def test_without_a_pose_the_whole_film_cnn_reads_it_and_the_report_says_why(
    framed, canonical, whole_film
):
    reading = _read(framed, _unsure(framed[2]), canonical, whole_film)
    assert reading.estimate.framing == "field" and reading.role == "regression_field"
    assert "palm landmarks" in reading.framing_note and "whole film" in reading.framing_note
    assert reading.estimate.answered


def test_without_a_pose_or_a_whole_film_model_the_path_says_it_cannot(framed, canonical):
    reading = _read(framed, _unsure(framed[2]), canonical, None)
    assert not reading.estimate.answered
    assert "no whole-film model is installed" in reading.estimate.rejected


def test_a_whole_film_model_directory_reads_every_film_as_before(framed, whole_film):
    reading = _read(framed, _unsure(framed[2]), whole_film, None)
    assert reading.estimate.framing is None and reading.framing_note == ""
    assert reading.estimate.answered

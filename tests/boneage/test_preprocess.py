"""The shared preprocessing: the hand found, cropped square, normalised, at a fixed size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boneage.errors import InputError
from boneage.phantom import generate_phantom
from boneage.phantom.crop import INPUT_SIZE, crop_labels, preprocess
from tests.boneage.real_sample import UNLABELLED_REAL

REAL = UNLABELLED_REAL

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def phantom():
    return generate_phantom(3, size=384)


def test_output_is_square_fixed_size_in_unit_range(phantom):
    prepared = preprocess(phantom.image)
    assert prepared.image.shape == (INPUT_SIZE, INPUT_SIZE)
    assert prepared.image.dtype == np.float32
    assert prepared.image.min() >= 0.0 and prepared.image.max() <= 1.0
    row0, col0, row1, col1 = prepared.crop_box
    assert row1 - row0 == col1 - col0
    assert prepared.scale == pytest.approx(INPUT_SIZE / (row1 - row0))


def test_crop_keeps_every_bone_and_labels_follow_the_image(phantom):
    prepared = preprocess(phantom.image)
    labels = crop_labels(phantom.labels, prepared)
    kept = set(np.unique(labels)) - {0}
    assert kept == set(np.unique(phantom.labels)) - {0}
    assert prepared.image[labels > 0].mean() > prepared.image[labels == 0].mean() + 0.2


def test_spacing_of_the_preprocessed_image_follows_the_scale(phantom):
    prepared = preprocess(phantom.image)
    assert prepared.spacing_mm(phantom.spacing_mm) == pytest.approx(
        phantom.spacing_mm / prepared.scale
    )
    assert prepared.spacing_mm((0.1, 0.3)) == pytest.approx(0.2 / prepared.scale)
    assert prepared.spacing_mm(None) is None


def test_collimation_strip_and_ruler_do_not_move_the_crop(phantom):
    clean = preprocess(phantom.image)
    marked = phantom.image.copy()
    marked[:, -30:] = 0.95
    marked[40:200, 10:22] = 1.0
    marked[40:200:8, 10:18] = 0.6
    moved = preprocess(marked)
    side = clean.crop_box[2] - clean.crop_box[0]
    assert np.abs(np.subtract(moved.crop_box, clean.crop_box)).max() < 0.05 * side


def test_blank_image_is_an_input_error():
    with pytest.raises(InputError, match="blank"):
        preprocess(np.full((300, 300), 0.4, np.float32))


@pytest.mark.skipif(not REAL.is_dir(), reason="BONEAGE_REAL_XRAYS is not set")
@pytest.mark.parametrize("index", [4, 9])
def test_real_radiograph_crop_holds_the_hand_and_drops_the_ruler(index):
    from PIL import Image

    pixels = np.asarray(Image.open(REAL / f"{index}.png").convert("L"), np.float32) / 255
    prepared = preprocess(pixels)
    bright = prepared.image > 0.3
    assert 0.15 < bright.mean() < 0.6
    assert bright[:, -INPUT_SIZE // 8 :].mean() < 0.02

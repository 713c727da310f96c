"""Quality checks: rejections with reasons, and every automatic correction stated."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import draw, transform

from boneage.framing.outline import find_hand
from boneage.phantom import generate_phantom
from boneage.quality.checks import check_quality
from boneage.quality.orientation import is_inverted, thumb_side
from tests.boneage.real_sample import UNLABELLED_REAL

REAL = UNLABELLED_REAL

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def left_phantom():
    seed = next(s for s in range(50) if generate_phantom(s, size=384).laterality == "L")
    return generate_phantom(seed, size=384)


def test_blank_image_is_rejected():
    result = check_quality(np.full((400, 300), 0.5, np.float32))
    assert "blank" in result.rejected
    assert result.checks[0].name == "not_blank" and not result.checks[0].passed


def test_noise_is_rejected():
    noise = np.random.default_rng(0).random((400, 400)).astype(np.float32)
    assert check_quality(noise).rejected is not None


def test_scattered_shapes_are_rejected():
    image = np.full((400, 400), 0.1, np.float32)
    rng = np.random.default_rng(1)
    for _ in range(12):
        rr, cc = draw.disk(tuple(rng.integers(30, 370, 2)), 18, shape=image.shape)
        image[rr, cc] = 0.8
    image += rng.normal(0, 0.01, image.shape).astype(np.float32)
    assert "no single large object" in check_quality(image).rejected


def test_compact_blob_is_rejected():
    image = np.full((400, 400), 0.1, np.float32)
    rr, cc = draw.ellipse(200, 200, 120, 80, shape=image.shape)
    image[rr, cc] = 0.7
    image += np.random.default_rng(2).normal(0, 0.01, image.shape).astype(np.float32)
    assert "without fingers" in check_quality(image).rejected


def test_trunk_filling_the_field_is_rejected_with_a_reason():
    rows, cols = np.mgrid[0:400, 0:400]
    body = np.where(np.abs(cols - 200) < 195, 0.6, 0.05).astype(np.float32)
    lungs = ((rows - 180) ** 2 / 120**2 + (np.abs(cols - 200) - 90) ** 2 / 60**2) < 1
    body[lungs] = 0.25
    body += np.random.default_rng(3).normal(0, 0.01, body.shape).astype(np.float32)
    assert check_quality(body).rejected.startswith("This does not look like a hand radiograph: ")


@pytest.fixture(scope="module")
def real_left_hand():
    if not REAL.is_dir():
        pytest.skip("BONEAGE_REAL_XRAYS is not set")
    from PIL import Image

    return np.asarray(Image.open(REAL / "2.png").convert("L"), np.float32) / 255


def test_inverted_image_is_flipped_back_and_says_so(real_left_hand):
    result = check_quality(1.0 - real_left_hand)
    assert result.rejected is None
    assert any("inverted" in c for c in result.corrections)
    np.testing.assert_allclose(result.pixels, real_left_hand, atol=1e-6)


def test_upright_bone_bright_left_hand_needs_no_inversion(left_phantom):
    result = check_quality(left_phantom.image, laterality="L")
    assert result.rejected is None
    assert not any("inverted" in c for c in result.corrections)
    assert result.laterality == "L"


def test_tagged_right_hand_outline_is_mirrored_and_says_so(left_phantom):
    right = np.ascontiguousarray(left_phantom.image[:, ::-1])
    result = check_quality(right, laterality="R")
    assert result.laterality == "R"
    assert "right hand (DICOM laterality) mirrored to a left hand" in result.outline_pose
    np.testing.assert_array_equal(result.pixels, left_phantom.image)
    # the estimates read the film as stored: the mirroring is no correction of theirs
    assert not any("mirrored" in c for c in result.corrections)
    np.testing.assert_array_equal(result.as_acquired, right)


def test_tilted_hand_is_rotated_upright_and_says_by_how_much(real_left_hand):
    background = float(np.median(real_left_hand[:50]))
    tilted = transform.rotate(real_left_hand, 40, resize=True, cval=background)
    result = check_quality(tilted.astype(np.float32))
    rotation = [c for c in result.outline_pose if c.startswith("rotated")]
    assert rotation and "clockwise" in rotation[0]
    degrees = float(rotation[0].split()[1])
    assert 30 <= degrees <= 50


def test_hand_with_fingers_down_is_turned_over(left_phantom):
    result = check_quality(np.ascontiguousarray(left_phantom.image[::-1, ::-1]), laterality="L")
    assert "turned 180 degrees: the fingers pointed down" in result.outline_pose
    assert not any("turned" in c for c in result.corrections)


def test_thumb_side_is_never_wrong_on_phantoms():
    decided = 0
    for seed in range(12):
        phantom = generate_phantom(seed, size=384)
        side = thumb_side(find_hand(phantom.image).mask)
        if side is not None:
            decided += 1
            assert side == ("right" if phantom.laterality == "L" else "left")
    assert decided >= 3


@pytest.mark.skipif(not REAL.is_dir(), reason="BONEAGE_REAL_XRAYS is not set")
def test_real_left_hands_are_accepted_never_called_right_and_image_4_is_rotated():
    from PIL import Image

    for index in range(10):
        pixels = np.asarray(Image.open(REAL / f"{index}.png").convert("L"), np.float32) / 255
        result = check_quality(pixels)
        assert result.rejected is None, index
        assert result.laterality in ("L", None), index
        if result.laterality is None:
            assert any("laterality not determined" in c.detail for c in result.checks)
        rotated = any(c.startswith("rotated") for c in result.outline_pose)
        assert rotated == (index == 4), index


def test_normal_phantoms_are_never_called_inverted():
    # Their borders are mostly collimator shadow, forearm and noise-free background.
    assert [s for s in range(20) if is_inverted(generate_phantom(s, size=384).image)] == []

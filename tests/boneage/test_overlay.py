"""The overlay: bones tinted and outlined, outliers in red, names and lengths written."""

from __future__ import annotations

import numpy as np

from boneage.multistep.overlay import OUTLIER_RGB, UPSCALE, short_name
from boneage.phantom.anatomy import BY_NAME
from boneage.phantom.measure import measure_bones
from boneage.phantom.overlay import render_overlay


def _mask() -> np.ndarray:
    mask = np.zeros((128, 128), np.uint8)
    mask[10:110, 20:34] = BY_NAME["metacarpal_3"].label
    mask[10:80, 70:84] = BY_NAME["metacarpal_2"].label
    return mask


def test_overlay_is_rgb_uint8_at_the_upscaled_size_and_tints_only_bones():
    image = np.full((128, 128), 0.5, np.float32)
    mask = _mask()
    overlay = render_overlay(image, mask, measure_bones(mask, spacing_mm=0.5))
    assert overlay.shape == (128 * UPSCALE, 128 * UPSCALE, 3) and overlay.dtype == np.uint8
    corner = overlay[-10:, -10:]
    assert np.all(corner == corner[0, 0]) and corner[0, 0, 0] == corner[0, 0, 1]
    inside = overlay[60 * UPSCALE, 24 * UPSCALE]
    assert len(set(inside.tolist())) > 1


def test_outlier_is_outlined_in_red_and_others_are_not():
    image = np.zeros((128, 128), np.float32)
    mask = _mask()
    overlay = render_overlay(image, mask, measure_bones(mask), outliers=["metacarpal_2"])
    red = np.all(overlay == OUTLIER_RGB, axis=-1)
    rows, cols = np.nonzero(red)
    assert red.sum() > 100
    assert cols.min() >= 60 * UPSCALE  # all red belongs to metacarpal_2's side of the image


def test_short_names_follow_radiology_abbreviations():
    assert short_name("metacarpal_3") == "MC3"
    assert short_name("distal_phalanx_5") == "DP5"
    assert short_name("radius") == "R"
    assert short_name("capitate") == "Cap"

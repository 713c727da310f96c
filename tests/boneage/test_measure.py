"""Measurements on masks of known geometry: drawn rectangles and ellipses of known size, angle."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.draw import ellipse, polygon

from boneage.phantom.anatomy import BY_NAME
from boneage.phantom.measure import measure_bones


def _rectangle(mask: np.ndarray, label: int, centre, length: float, width: float, angle_deg: float):
    """Draw a filled rectangle whose long side (``length`` px) makes ``angle_deg`` with the rows."""
    axis = np.array([np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))])
    cross = np.array([-axis[1], axis[0]])
    c = np.asarray(centre, float)
    corners = [
        c + sa * length / 2 * axis + sb * width / 2 * cross
        for sa, sb in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]
    rows, cols = polygon([p[0] for p in corners], [p[1] for p in corners], mask.shape)
    mask[rows, cols] = label


@pytest.mark.parametrize("angle_deg", [0.0, 30.0, 90.0, 135.0])
def test_rotated_rectangle_length_width_and_area_match_its_drawing(angle_deg):
    mask = np.zeros((256, 256), np.uint8)
    _rectangle(mask, BY_NAME["radius"].label, (128, 128), 120, 20, angle_deg)
    radius = measure_bones(mask).bones["radius"]
    assert radius.length_px == pytest.approx(120, abs=2.0)
    assert radius.width_px == pytest.approx(20, abs=2.0)
    assert radius.area_px == pytest.approx(120 * 20, rel=0.07)  # polygon() includes its edges
    assert radius.orientation_deg == pytest.approx(angle_deg % 180, abs=1.0)


def test_ellipse_axes_become_length_and_width_in_mm_with_spacing():
    mask = np.zeros((200, 200), np.uint8)
    rows, cols = ellipse(100, 100, 60, 15, shape=mask.shape)  # semi-axes 60 px (rows), 15 px
    mask[rows, cols] = BY_NAME["metacarpal_3"].label
    bone = measure_bones(mask, spacing_mm=0.5).bones["metacarpal_3"]
    assert bone.length_mm == pytest.approx(60.0, abs=1.0)
    assert bone.width_mm == pytest.approx(15.0, abs=1.0)
    assert bone.area_mm2 == pytest.approx(np.pi * 60 * 15 * 0.25, rel=0.03)
    assert bone.length_ratio == pytest.approx(1.0)


def test_anisotropic_spacing_scales_each_axis():
    mask = np.zeros((100, 100), np.uint8)
    mask[10:90, 45:55] = BY_NAME["ulna"].label  # 80 rows x 10 columns
    bone = measure_bones(mask, spacing_mm=(0.2, 0.5)).bones["ulna"]
    assert bone.length_mm == pytest.approx(16.0, abs=0.3)
    assert bone.width_mm == pytest.approx(5.0, abs=0.3)


def test_without_spacing_only_ratios_to_metacarpal_3_carry_size():
    mask = np.zeros((256, 256), np.uint8)
    mask[20:120, 40:50] = BY_NAME["metacarpal_3"].label
    mask[20:70, 80:90] = BY_NAME["metacarpal_5"].label
    measured = measure_bones(mask).bones
    assert measured["metacarpal_5"].length_mm is None
    assert measured["metacarpal_5"].length_ratio == pytest.approx(0.5, abs=0.02)


def test_open_physis_is_a_gap_and_a_fused_one_touches():
    mask = np.zeros((200, 200), np.uint8)
    mask[60:180, 20:40] = BY_NAME["radius"].label
    mask[52:58, 22:38] = BY_NAME["radius_epiphysis"].label  # gap of rows 58-59: open
    mask[60:180, 100:116] = BY_NAME["ulna"].label
    mask[54:60, 100:116] = BY_NAME["ulna_epiphysis"].label  # touches row 60: fused
    result = measure_bones(mask)
    assert result.ossification.physes_open == ("radius_epiphysis",)
    assert result.ossification.physes_fused == ("ulna_epiphysis",)
    assert result.bones["radius_epiphysis"].relative_size == pytest.approx(16 / 20, abs=0.06)
    assert result.bones["ulna_epiphysis"].relative_size == pytest.approx(1.0, abs=0.07)


def test_tiny_centres_count_absent_and_carpals_are_sized_against_the_capitate():
    mask = np.zeros((128, 128), np.uint8)
    mask[10:30, 10:30] = BY_NAME["capitate"].label  # 400 px
    mask[50:60, 10:30] = BY_NAME["hamate"].label  # 200 px
    mask[80:82, 80:82] = BY_NAME["pisiform"].label  # 4 px: noise, not a centre
    result = measure_bones(mask)
    assert "pisiform" in result.ossification.absent
    assert "pisiform" not in result.bones
    assert {"capitate", "hamate"} <= set(result.ossification.present)
    assert result.bones["hamate"].relative_size == pytest.approx(0.5)


def test_a_stray_fragment_of_a_label_neither_stretches_the_bone_nor_counts_as_it():
    mask = np.zeros((256, 256), np.uint8)
    label = BY_NAME["metacarpal_3"].label
    mask[40:140, 60:72] = label  # the bone: 100 x 12 px
    mask[220:226, 200:206] = label  # a 6 x 6 px fragment far away
    measured = measure_bones(mask)
    bone = measured.bones["metacarpal_3"]
    assert bone.length_px == pytest.approx(100, abs=1.0)
    assert bone.area_px == 100 * 12
    assert measured.fragmented_fraction == pytest.approx(36 / (1200 + 36))


def test_a_mask_of_whole_bones_has_no_fragments():
    mask = np.zeros((128, 128), np.uint8)
    mask[10:60, 20:30] = BY_NAME["metacarpal_2"].label
    mask[10:60, 40:50] = BY_NAME["metacarpal_3"].label
    assert measure_bones(mask).fragmented_fraction == 0.0

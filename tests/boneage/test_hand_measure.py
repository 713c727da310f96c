"""Measuring a landmark map: lengths between joint centres, epiphyses in their joint regions,
and the words of every rejection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boneage.multistep.landmarks import (
    LANDMARKS,
    HandMap,
    Landmark,
    build_landmark_net,
    locate,
    locate_batch,
)
from boneage.multistep.measure import (
    BONES,
    JOINTS,
    MIN_CONFIDENCE,
    HandMeasurements,
    MeanMeasurements,
    measure_hand,
)
from boneage.multistep.overlay import render_hand_overlay
from boneage.multistep.run import hand_rejection_reason

SIDE = 256


def _upright_hand(epiphysis_fraction: float) -> HandMap:
    """A drawn hand: five straight vertical rays, each joint a 12 x 8 pixel region whose lower
    ``epiphysis_fraction`` of rows is ossified, and the carpus a larger region above the wrist."""
    points: dict[str, tuple[float, float]] = {"wrist": (220.0, 118.0)}
    columns = {"index": 88.0, "middle": 118.0, "ring": 148.0, "little": 178.0}
    rows = {"mcp": 150.0, "pip": 110.0, "dip": 85.0, "tip": 65.0}
    for finger, col in columns.items():
        for joint, row in rows.items():
            points[f"{finger}_{joint}"] = (row, col)
    for joint, row in zip(("cmc", "mcp", "ip", "tip"), (200.0, 165.0, 135.0, 110.0), strict=True):
        points[f"thumb_{joint}"] = (row, 50.0)
    joint = np.zeros((SIDE, SIDE), bool)
    epiphysis = np.zeros((SIDE, SIDE), bool)
    for name, (row, col) in points.items():
        if name.endswith("tip") or name == "thumb_cmc":
            continue
        half_rows, half_cols = (12, 20) if name == "wrist" else (4, 6)
        r0, r1 = int(row) - half_rows, int(row) + half_rows
        c0, c1 = int(col) - half_cols, int(col) + half_cols
        joint[r0:r1, c0:c1] = True
        ossified_rows = round((r1 - r0) * epiphysis_fraction)
        if ossified_rows:
            epiphysis[r1 - ossified_rows : r1, c0 + 1 : c1 - 1] = True
    landmarks = {name: Landmark(*points[name], confidence=0.9) for name in LANDMARKS}
    return HandMap(joint=joint, epiphysis=epiphysis, landmarks=landmarks)


def test_lengths_are_the_distances_between_joint_centres():
    measured = measure_hand(_upright_hand(0.5))
    assert measured.scale_px == pytest.approx(220 - 150)
    assert measured.lengths_px["proximal_phalanx_3"] == pytest.approx(40)
    assert measured.lengths_px["middle_phalanx_5"] == pytest.approx(25)
    assert measured.lengths_px["metacarpal_1"] == pytest.approx(35)
    assert set(measured.lengths_px) == set(BONES)
    continuous, binary = measured.features("ratios")
    assert continuous["length_ratio:distal_phalanx_2"] == pytest.approx(20 / 70)
    assert binary["present:carpus"] and binary["present:index_pip_epiphysis"]


def test_epiphysis_share_and_width_grow_with_ossification():
    young = measure_hand(_upright_hand(0.0))
    older = measure_hand(_upright_hand(0.5))
    assert set(older.joints) == set(JOINTS)
    assert young.joints["ring_pip"].share == 0
    assert not young.joints["ring_pip"].present
    assert older.joints["ring_pip"].share == pytest.approx(0.5 * 10 / 12, rel=0.01)
    assert 0.7 < older.joints["ring_pip"].width_share <= 1.0
    young_features, _ = young.features("ratios")
    older_features, _ = older.features("ratios")
    for key in ("relative_size:carpus", "relative_size:middle_dip_epiphysis_width"):
        assert older_features[key] > young_features[key]


def test_nudged_readings_are_averaged_and_a_centre_is_present_when_most_found_it():
    none, half, more = (measure_hand(_upright_hand(f)) for f in (0.0, 0.5, 0.75))
    continuous, binary = MeanMeasurements([half, more, none]).features("ratios")
    key = "relative_size:ring_pip_epiphysis"
    each = [m.features("ratios")[0][key] for m in (half, more, none)]
    assert continuous[key] == pytest.approx(np.mean(each)) and 0 < continuous[key] < max(each)
    assert binary["present:ring_pip_epiphysis"]  # two of three found it
    _, mostly_absent = MeanMeasurements([half, none, none]).features("ratios")
    assert not mostly_absent["present:ring_pip_epiphysis"]


def test_a_landmark_the_network_is_unsure_of_is_not_measured():
    hand = _upright_hand(0.5)
    unsure = dict(hand.landmarks)
    unsure["middle_pip"] = Landmark(110.0, 118.0, confidence=MIN_CONFIDENCE / 2)
    measured = measure_hand(HandMap(hand.joint, hand.epiphysis, unsure))
    assert "middle_pip" in measured.missing_landmarks
    assert "proximal_phalanx_3" not in measured.lengths_px
    assert "middle_phalanx_3" not in measured.lengths_px
    assert "middle_pip" not in measured.joints


def test_without_the_hand_scale_the_study_is_rejected_in_words():
    hand = _upright_hand(0.5)
    lost = dict(hand.landmarks)
    lost["wrist"] = Landmark(220.0, 118.0, confidence=0.01)
    measured = measure_hand(HandMap(hand.joint, hand.epiphysis, lost))
    assert measured.scale_px is None
    assert "distal radius or the third MCP joint" in hand_rejection_reason(measured)


def test_too_few_bones_is_rejected_in_words():
    hand = _upright_hand(0.5)
    cut = {
        name: Landmark(lm.row, lm.col, 0.05 if "tip" in name or "dip" in name else 0.9)
        for name, lm in hand.landmarks.items()
    }
    reason = hand_rejection_reason(measure_hand(HandMap(hand.joint, hand.epiphysis, cut)))
    assert reason.startswith("Only 6 of 15 finger bones were located")


def test_measurements_survive_their_json():
    measured = measure_hand(_upright_hand(0.5))
    again = HandMeasurements.from_dict(measured.to_dict())
    assert again.features("ratios")[0] == pytest.approx(measured.features("ratios")[0], abs=1e-3)


def test_the_overlay_draws_the_regions_and_bones():
    hand = _upright_hand(0.5)
    image = np.full((SIDE, SIDE), 0.2, np.float32)
    overlay = render_hand_overlay(image, hand, measure_hand(hand), outliers=("middle_phalanx_3",))
    assert overlay.shape == (2 * SIDE, 2 * SIDE, 3)
    assert tuple(overlay[2 * 97, 2 * 118]) == (255, 40, 40)  # the outlier's line
    assert tuple(overlay[2 * 130, 2 * 118]) == (90, 255, 120)  # another bone's line
    red, green, blue = overlay[2 * 113, 2 * 114].astype(int)  # inside an epiphysis
    assert red > green > blue


def test_a_heatmap_peak_is_located_with_its_confidence():
    network = build_landmark_net()
    hand = locate(network, np.random.default_rng(0).random((SIDE, SIDE), np.float32))
    assert hand.joint.shape == (SIDE, SIDE) and hand.joint.dtype == bool
    assert set(hand.landmarks) == set(LANDMARKS)
    assert all(0 < lm.confidence <= 1 for lm in hand.landmarks.values())
    with pytest.raises(ValueError, match="2-D"):
        locate(network, np.zeros((2, SIDE, SIDE), np.float32))


def test_the_peak_is_refined_between_pixels(monkeypatch):
    """A heatmap with all its mass on two neighbouring pixels puts the landmark between them."""

    class TwoPixels(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = torch.full((x.shape[0], 2 + len(LANDMARKS), SIDE, SIDE), -50.0)
            out[:, 2:, 100, 40] = 50.0
            out[:, 2:, 100, 41] = 50.0
            return out

    (hand,) = locate_batch(TwoPixels(), np.zeros((1, SIDE, SIDE), np.float32))
    landmark = hand.landmarks["wrist"]
    assert landmark.row == pytest.approx(100)
    assert landmark.col == pytest.approx(40.5)
    assert landmark.confidence == pytest.approx(1.0)

"""The canonical hand: the pose fit recovers turn, scale, shift and side, and the crop does not
move with the framing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from boneage.framing.canonical import (
    NUDGES,
    PALM,
    TEMPLATE,
    CanonicalPose,
    PoseFailure,
    border_level,
    fit_pose,
    nudged,
    refine_pose,
    sample_crops,
)
from boneage.multistep.landmarks import Landmark
from boneage.training.cnn.train import perturb_matrices


def _placed(angle_deg: float, scale: float, shift: tuple[float, float], mirrored: bool = False):
    """The template's palm points turned (counter-clockwise on the film), scaled and shifted."""
    angle = math.radians(angle_deg)
    rotation = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    points = {}
    for name in PALM:
        x, y = TEMPLATE[name]
        x = -x if mirrored else x
        points[name] = tuple(scale * rotation @ np.array([x, y]) + np.array(shift))
    return points


@pytest.mark.parametrize("angle", [0.0, 30.0, -45.0, 90.0, 180.0])
@pytest.mark.parametrize("mirrored", [False, True])
def test_the_fit_recovers_turn_scale_and_side(angle, mirrored):
    pose = fit_pose(_placed(angle, 120.0, (200.0, 300.0), mirrored))
    assert isinstance(pose, CanonicalPose)
    assert pose.mirrored is mirrored
    assert pose.scale_px == pytest.approx(120.0, rel=1e-6)
    assert pose.residual < 1e-6
    turned = (pose.rotation_deg - angle + 180) % 360 - 180
    assert abs(turned) < 1e-6


def _in_crop(pose: CanonicalPose, points, side: int) -> dict[str, Landmark]:
    """Film points (x, y) as the U-Net would find them in ``pose``'s crop of ``side`` pixels."""
    to_unit = np.linalg.inv(np.vstack([pose.matrix, [0.0, 0.0, 1.0]]))
    marks = {}
    for name, (x, y) in points.items():
        u, v, _ = to_unit @ np.array([x, y, 1.0])
        marks[name] = Landmark(row=v * side - 0.5, col=u * side - 0.5, confidence=1.0)
    return marks


@pytest.mark.parametrize("angle", [0.0, 25.0, -140.0])
@pytest.mark.parametrize("mirrored", [False, True])
def test_refining_on_the_crop_lands_on_the_pose_of_the_true_joints(angle, mirrored):
    truth = _placed(angle, 120.0, (200.0, 300.0), mirrored)
    exact = fit_pose(truth)
    # the whole film's landmarks a little off: turned 8° more, 15 % small, shifted
    rough = fit_pose(_placed(angle + 8.0, 102.0, (212.0, 291.0), mirrored))
    assert isinstance(exact, CanonicalPose) and isinstance(rough, CanonicalPose)
    refined = refine_pose(rough, _in_crop(rough, truth, 256), 256)
    np.testing.assert_allclose(refined.matrix, exact.matrix, atol=1e-6)
    assert refined.mirrored is mirrored
    assert refined.scale_px == pytest.approx(120.0, rel=1e-6)
    assert abs((refined.rotation_deg - exact.rotation_deg + 180) % 360 - 180) < 1e-6


@pytest.mark.parametrize(
    "misread", [dict(mirrored=True), dict(angle=35.0), dict(scale=1.6), dict(scale=0.6)]
)
def test_a_refinement_that_would_flip_the_side_or_jump_keeps_the_first_pose(misread):
    rough = fit_pose(_placed(10.0, 100.0, (150.0, 200.0)))
    assert isinstance(rough, CanonicalPose)
    placed = dict(angle=10.0, scale=100.0, mirrored=False) | {
        k: (v * 100.0 if k == "scale" else v + 10.0 if k == "angle" else v)
        for k, v in misread.items()
    }
    seen = _placed(placed["angle"], placed["scale"], (150.0, 200.0), placed["mirrored"])
    assert refine_pose(rough, _in_crop(rough, seen, 256), 256) is rough


def test_a_refinement_that_finds_no_hand_keeps_the_first_pose():
    rough = fit_pose(_placed(10.0, 100.0, (150.0, 200.0)))
    assert isinstance(rough, CanonicalPose)
    lost = {name: Landmark(row=10.0, col=10.0, confidence=0.01) for name in PALM}
    assert refine_pose(rough, lost, 256) is rough


def test_nudges_turn_and_zoom_the_crop_about_its_centre_and_the_first_is_the_pose():
    pose = fit_pose(_placed(15.0, 100.0, (150.0, 200.0)))
    assert isinstance(pose, CanonicalPose)
    assert NUDGES[0] == (0.0, 1.0)
    np.testing.assert_allclose(nudged(pose, *NUDGES[0]).matrix, pose.matrix)
    moved = nudged(pose, 3.0, 1.03)
    centre, corner = np.array([0.5, 0.5, 1.0]), np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(moved.matrix @ centre, pose.matrix @ centre, atol=1e-9)
    spoke = (
        moved.matrix @ corner - moved.matrix @ centre,
        pose.matrix @ corner - pose.matrix @ centre,
    )
    assert np.linalg.norm(spoke[0]) / np.linalg.norm(spoke[1]) == pytest.approx(1.03)
    cosine = spoke[0] @ spoke[1] / np.linalg.norm(spoke[0]) / np.linalg.norm(spoke[1])
    assert math.degrees(math.acos(cosine)) == pytest.approx(3.0, abs=1e-6)


def test_a_pose_needs_enough_confident_palm_points():
    points = _placed(0, 100, (150, 200))
    few = {name: points[name] for name in ("wrist", "middle_mcp", "ring_mcp")}
    failure = fit_pose(few)
    assert isinstance(failure, PoseFailure) and "only 3 of the 6 palm landmarks" in failure.reason
    unsure = fit_pose(points, {name: 0.05 for name in points})
    assert isinstance(unsure, PoseFailure)


def test_landmarks_that_are_not_one_hand_are_refused_in_words():
    points = _placed(0, 100, (150, 200))
    points["thumb_cmc"], points["little_mcp"] = points["little_mcp"], points["thumb_cmc"]
    points["index_mcp"] = (points["index_mcp"][0] + 60, points["index_mcp"][1] + 40)
    failure = fit_pose(points)
    assert isinstance(failure, PoseFailure) and "do not form one hand" in failure.reason


def test_one_misplaced_palm_point_is_left_out_and_the_pose_kept():
    points = _placed(20, 100, (150, 200))
    points["thumb_cmc"] = (points["thumb_cmc"][0] + 45, points["thumb_cmc"][1] + 30)
    pose = fit_pose(points)
    assert isinstance(pose, CanonicalPose) and pose.points == 5
    assert pose.residual < 1e-6 and abs(pose.rotation_deg - 20) < 1e-6


def _film_with_marks(
    points: dict[str, tuple[float, float]], scale: float, shape=(400, 400)
) -> np.ndarray:
    """A dark film with a bright disc at each palm point, each of its own size in units of the
    hand's ``scale``, so that only the pose tells the films apart."""
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    film = np.full(shape, 0.1, dtype=np.float32)
    for index, (x, y) in enumerate(points.values()):
        film[(cols - x) ** 2 + (rows - y) ** 2 <= (scale * (0.04 + 0.02 * index)) ** 2] = 0.9
    return film


def _crop(film: np.ndarray, pose: CanonicalPose, side: int = 96) -> np.ndarray:
    return sample_crops(
        torch.from_numpy(film)[None, None], torch.from_numpy(pose.matrix)[None], side, fill=0.1
    )[0, 0].numpy()


def test_the_crop_is_the_same_whatever_the_turn_size_or_side():
    upright = _placed(0, 110, (200, 230))
    reference = _crop(_film_with_marks(upright, 110), fit_pose(upright))
    for angle, scale, mirrored in [
        (90, 110, False),
        (25, 70, False),
        (0, 110, True),
        (180, 90, True),
    ]:
        points = _placed(angle, scale, (200, 210), mirrored)
        pose = fit_pose(points)
        crop = _crop(_film_with_marks(points, scale), pose)
        assert np.mean(np.abs(crop - reference) > 0.4) < 0.01, (angle, scale, mirrored)


def test_the_palm_lands_where_the_template_puts_it():
    points = _placed(-30, 150, (300, 260))
    pose = fit_pose(points)
    # the crop's pixel under the wrist: invert the matrix
    linear, offset = pose.matrix[:, :2], pose.matrix[:, 2]
    unit = np.linalg.solve(linear, np.array(points["wrist"]) - offset)
    assert unit == pytest.approx([0.5 - 0.08 / 2.6, 0.5 + 0.8 / 2.6], abs=1e-6)


def test_a_large_film_is_reduced_before_sampling_and_outside_takes_the_fill():
    points = _placed(0, 900, (1500, 1700))
    film = _film_with_marks(points, 900, shape=(2400, 2400))
    pose = fit_pose(points)
    small = _crop(film, pose, side=64)
    assert small.shape == (64, 64)
    assert small.max() > 0.5  # the marks survive the reduction
    far = CanonicalPose(np.array([[100.0, 0, 5000], [0, 100.0, 5000]]), False, 0.0, 100.0, 0.0, 6)
    assert np.allclose(_crop(film, far, side=16), 0.1)


def test_border_level_is_the_median_of_the_outermost_pixels():
    films = torch.full((2, 1, 10, 10), 0.3)
    films[1] = 0.7
    films[:, :, 4:6, 4:6] = 1.0
    assert border_level(films).tolist() == pytest.approx([0.3, 0.7])


def test_zero_pose_error_leaves_the_pose_and_a_draw_stays_near_it():
    matrices = torch.tensor([[[200.0, 0.0, 10.0], [0.0, 200.0, 20.0]]])
    same = perturb_matrices(
        matrices,
        torch.Generator().manual_seed(0),
        {"rotation_deg": 0, "scale": 0, "shift": 0, "aspect": 0},
    )
    assert torch.allclose(same, matrices)
    moved = perturb_matrices(matrices.repeat(64, 1, 1), torch.Generator().manual_seed(1))
    assert not torch.allclose(moved[0], moved[1])
    scale = torch.linalg.matrix_norm(moved[:, :, :2], ord=2) / 200
    assert scale.min() > 0.85 and scale.max() < 1.2

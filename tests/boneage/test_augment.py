"""The one augmentation pipeline: one random draw moves a film's image, masks and landmarks
together, and a seeded generator draws the same again."""

from __future__ import annotations

import math

import torch

from boneage.training.common.augment import augment_batch


def _dotted(points: torch.Tensor, side: int) -> torch.Tensor:
    """Films (B, 1, side, side) dark but for a bright 3 x 3 dot at each (row, column) point."""
    images = torch.zeros(len(points), 1, side, side)
    for b, film in enumerate(points):
        for row, col in film.long():
            images[b, 0, row - 1 : row + 2, col - 1 : col + 2] = 1.0
    return images


def test_one_draw_moves_image_mask_and_landmarks_consistently():
    side = 96
    points = torch.tensor([[30.0, 40.0], [70.0, 25.0], [50.0, 60.0]]).repeat(8, 1, 1)
    images = _dotted(points, side)
    moved = augment_batch(
        images, torch.Generator().manual_seed(2), masks=images > 0, landmarks=points
    )
    assert moved.images.shape == images.shape and moved.masks.shape == images.shape
    some_point_moved = False
    for b in range(len(points)):
        ink = torch.nonzero(moved.masks[b, 0]).float()
        for point in moved.landmarks[b]:
            if not ((point >= 0).all() and (point < side).all()):
                continue  # moved off the film by the pose: nothing to find there
            assert torch.cdist(point[None], ink).min() <= 2.0  # the mask moved with the point
            row, col = point.round().long().clamp(2, side - 3)
            window = moved.images[b, 0, row - 2 : row + 3, col - 2 : col + 3]
            background = moved.images[b, 0].median()
            assert window.max() > background + 0.2  # so did the image's bright dot
        some_point_moved |= bool((moved.landmarks[b] - points[b]).abs().max() > 1.0)
    assert some_point_moved


def test_a_missing_landmark_stays_missing_and_the_draw_is_reproducible():
    points = torch.tensor([[[20.0, 20.0], [math.nan, math.nan]]]).repeat(3, 1, 1)
    images = _dotted(points[:, :1], 48)
    first = augment_batch(images, torch.Generator().manual_seed(5), landmarks=points)
    again = augment_batch(images, torch.Generator().manual_seed(5), landmarks=points)
    assert torch.isnan(first.landmarks[:, 1]).all()
    assert torch.equal(first.images, again.images)
    assert torch.equal(first.landmarks[:, 0], again.landmarks[:, 0])
    assert first.images.min() >= 0 and first.images.max() <= 1

"""The canonical hand: every film brought into one pose before a network reads it.

A face-recognition system first finds the face, then turns, scales and centres it, and only then
asks a network who it is. The same step for hands: from the landmark U-Net's joint centres on
the whole film (:mod:`boneage.multistep.landmarks`), a similarity transform (rotation, one scale,
shift) and the side (a mirror) that bring the hand onto :data:`TEMPLATE`, the median pose of 568
annotated RSNA hands: the third metacarpal upright, the distance from the centre of the distal
radius to the third MCP joint fixed, a left hand seen PA (thumb on the image's right). The crop
is a fixed box around that pose which holds the whole hand with its fingertips and the distal
radius and ulna (:data:`BOX`), sampled from the film at its own resolution.

Only the palm's landmarks (:data:`PALM`) place the pose: the distal radius, the thumb's
metacarpal base and the four finger MCP joints barely move when the fingers spread or bend
(their spread over the 568 hands is 2-3 % of the radius-MCP distance, against 10-14 % for the
fingertips). The fit is a least-squares Procrustes fit (Umeyama 1991) tried twice, with the
template as it is and mirrored; the better fit names the side. A pose is only used when at
least :data:`MIN_PALM_POINTS` palm points were found with confidence and the fit's residual is
small (:data:`MAX_RESIDUAL`, and no point off by more than :data:`MAX_POINT_ERROR`), after
leaving out the worst-fitting points one by one while enough
remain; otherwise :func:`fit_pose` says why in words and the caller keeps the whole-film
framing.

The pose is then fitted once more, on the landmarks the U-Net finds in the first pose's crop
(:func:`refine_pose`): on the whole film a hand padded to twice the field spans half the pixels,
in the crop every hand spans the same. On 120 `val` films that refinement cut how far the crop
moves under a turn of 20-30° or a mirror from a median 0.02 to 0.008 radius-MCP distances (90th
percentile 0.05-0.08 to 0.02), and under a 2× padding from a 90th percentile of 1.6 (poses
that went wrong) to 0.04; a second refinement gained little more (0.005).

The transform is one 2 × 3 matrix from crop pixels to film pixels, so the CNN's training crops
(from cached films, with a small random perturbation of the pose standing for the landmark
error) and the runtime's crop go through the same :func:`sample_crops`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.nn import functional as F

from boneage.framing.field import FieldFrame

if TYPE_CHECKING:
    from boneage.multistep.landmarks import Landmark

log = logging.getLogger(__name__)

PALM = ("wrist", "thumb_cmc", "index_mcp", "middle_mcp", "ring_mcp", "little_mcp")
"""The landmarks that place the pose (names of :data:`boneage.multistep.landmarks.LANDMARKS`)."""

TEMPLATE: Mapping[str, tuple[float, float]] = {
    "wrist": (0.0, 0.0),
    "thumb_cmc": (0.336, -0.289),
    "index_mcp": (0.243, -1.011),
    "middle_mcp": (0.0, -1.0),
    "ring_mcp": (-0.205, -0.901),
    "little_mcp": (-0.384, -0.780),
}
"""Median (x, y) of each palm landmark over the 568 hands with annotated keypoints, in units of
the radius-MCP 3 distance, from the centre of the distal radius, x to the thumb's side and y
towards the fingers negative (image rows grow downwards). Measured on the films' original aspect
(the RSNA copies are squashed to a square; their recorded sizes undo it), right hands mirrored."""

BOX_CENTRE = (0.08, -0.8)
"""Centre of the crop in template units: the annotated hands span x −0.94…1.10 (thumb tip to
little fingertip, 2nd-98th percentile) and y −2.0 (middle fingertip) to 0; 0.45 below the
radius centre keeps the distal radius and ulna."""
BOX_SIDE = 2.6
"""Side of the square crop in template units (radius-MCP 3 distances)."""

MIN_PALM_POINTS = 4
MIN_CONFIDENCE = 0.2
"""A landmark whose heatmap holds less than this share of its mass near the peak is not used."""
MAX_RESIDUAL = 0.15
"""Root-mean-square distance (template units) between the fitted palm and the template above
which the landmarks do not form one hand; the 568 annotated hands fit within 0.05."""
MAX_POINT_ERROR = 0.25
"""Distance (template units) from its place in the fitted template beyond which one palm point
is misplaced, even when the fit as a whole is close: it would skew the scale."""


@dataclass(frozen=True)
class CanonicalPose:
    """Where the canonical crop lies on a film.

    ``matrix`` (2 × 3) maps a crop pixel's (x, y), in units where the crop is 1 wide, to film
    pixels (x, y); ``mirrored`` says the film showed a right hand (or a left one seen AP), and
    ``rotation_deg`` how far the hand's axis was turned from upright (counter-clockwise
    positive, as seen on the film); ``scale_px`` is the radius-MCP 3 distance in film pixels;
    ``residual`` the fit's RMS error in template units."""

    matrix: np.ndarray
    mirrored: bool
    rotation_deg: float
    scale_px: float
    residual: float
    points: int

    def describe(self) -> str:
        """What the crop did, in words for the report."""
        side = (
            "a right hand (or a left one seen AP), mirrored to a left hand"
            if self.mirrored
            else "a left hand"
        )
        turn = (
            f", turned {abs(self.rotation_deg):.0f}° upright" if abs(self.rotation_deg) >= 5 else ""
        )
        return (
            f"the hand was cropped into the canonical pose from {self.points} palm landmarks: "
            f"{side}{turn}, scaled to a fixed radius-to-third-MCP distance"
        )


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2 × 3 affine ``outer ∘ inner``."""
    return np.concatenate(
        [outer[:, :2] @ inner[:, :2], (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]], axis=1
    )


@dataclass(frozen=True)
class PoseFailure:
    """Why no canonical pose was found, in words for the report."""

    reason: str


@dataclass(frozen=True)
class _Fit:
    """A similarity fit of the template (as it is, or mirrored) to film points; ``residual``
    and ``errors`` (per point) in template units."""

    mirrored: bool
    scale: float
    rotation: np.ndarray
    shift: np.ndarray
    residual: float
    errors: np.ndarray


def _best_side(template: np.ndarray, film: np.ndarray) -> _Fit:
    """The better of the fits with the template as it is and mirrored: the side of the hand."""
    fits = []
    for mirrored in (False, True):
        reference = template * [-1.0, 1.0] if mirrored else template
        scale, rotation, shift = _umeyama(reference, film)
        fitted = (scale * (rotation @ reference.T)).T + shift
        errors = np.sqrt(((fitted - film) ** 2).sum(1)) / scale
        residual = float(np.sqrt((errors**2).mean()))
        fits.append(_Fit(mirrored, scale, rotation, shift, residual, errors))
    return min(fits, key=lambda fit: fit.residual)


def _off(fit: _Fit) -> bool:
    """Whether a fit is too far from the template to place the hand."""
    return fit.residual > MAX_RESIDUAL or float(fit.errors.max()) > MAX_POINT_ERROR


def _umeyama(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity ``target ≈ s R source + t`` with a proper rotation; returns
    (s, R, t)."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    src, tgt = source - mu_s, target - mu_t
    covariance = tgt.T @ src / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    variance = (src**2).sum() / len(source)
    scale = float(np.trace(np.diag(singular) @ sign) / variance)
    shift = mu_t - scale * rotation @ mu_s
    return scale, rotation, shift


def fit_pose(
    points_xy: Mapping[str, tuple[float, float]],
    confidence: Mapping[str, float] | None = None,
    *,
    pixel_aspect: float = 1.0,
) -> CanonicalPose | PoseFailure:
    """The canonical pose from palm landmarks in film pixels (x, y).

    ``pixel_aspect`` is a pixel's width over its height (1 on films; the squashed RSNA copies
    are their original width/height); ``confidence`` the landmarks' confidences, those below
    :data:`MIN_CONFIDENCE` left out."""
    names = [
        name
        for name in PALM
        if name in points_xy
        and np.all(np.isfinite(points_xy[name]))
        and (confidence is None or confidence.get(name, 0.0) >= MIN_CONFIDENCE)
    ]
    if len(names) < MIN_PALM_POINTS or "wrist" not in names or "middle_mcp" not in names:
        return PoseFailure(
            f"only {len(names)} of the {len(PALM)} palm landmarks (the distal radius, the "
            "thumb's metacarpal base, the four MCP joints) were found with confidence, so the "
            "hand could not be put into the canonical pose"
        )
    film = np.array([points_xy[n] for n in names], dtype=np.float64) * [pixel_aspect, 1.0]
    template = np.array([TEMPLATE[n] for n in names], dtype=np.float64)
    fit = _best_side(template, film)
    while _off(fit) and len(film) > MIN_PALM_POINTS:
        # one misplaced landmark (a thumb base lost in the thenar soft tissue) should not
        # cost the pose: leave out the worst-fitting point, but never the radius or MCP 3
        keep = [i for i, n in enumerate(names) if n not in ("wrist", "middle_mcp")]
        worst = max(keep, key=lambda i: fit.errors[i])
        names = [n for i, n in enumerate(names) if i != worst]
        film, template = np.delete(film, worst, 0), np.delete(template, worst, 0)
        fit = _best_side(template, film)
    if _off(fit):
        return PoseFailure(
            f"the palm landmarks do not form one hand (their fit to the canonical hand is off by "
            f"{fit.residual:.2f} of the radius-MCP distance, more than {MAX_RESIDUAL}), so the "
            "hand could not be put into the canonical pose"
        )
    # crop unit (u, v) in 0..1 → template → film physical → film pixels
    to_template = np.array(
        [
            [BOX_SIDE, 0.0, BOX_CENTRE[0] - BOX_SIDE / 2],
            [0.0, BOX_SIDE, BOX_CENTRE[1] - BOX_SIDE / 2],
        ]
    )
    flip = np.diag([-1.0 if fit.mirrored else 1.0, 1.0])
    linear = fit.scale * fit.rotation @ flip
    to_film = np.concatenate([linear, fit.shift[:, None]], axis=1)
    unaspect = np.diag([1.0 / pixel_aspect, 1.0])
    matrix = unaspect @ compose(to_film, to_template)
    axis = fit.rotation @ np.array([0.0, -1.0])
    rotation_deg = math.degrees(math.atan2(-axis[0], -axis[1]))
    return CanonicalPose(
        matrix=matrix,
        mirrored=fit.mirrored,
        rotation_deg=rotation_deg,
        scale_px=fit.scale,
        residual=fit.residual,
        points=len(names),
    )


MAX_REFINE_TURN_DEG = 20.0
MAX_REFINE_ZOOM = 1.3
"""A refinement that would turn the crop by more than this, or scale it by more than this
factor, is not a correction of the first pose but a misreading of the crop, and is not taken."""


def refine_pose(
    pose: CanonicalPose, landmarks: Mapping[str, Landmark], crop_side: int
) -> CanonicalPose:
    """The pose fitted a second time, on the landmarks the U-Net found in the first pose's
    canonical crop (``crop_side`` pixels): the first pose's own error, corrected.

    The first pose rests on landmarks found on the whole film, where a hand padded to twice the
    field spans half as many pixels as one that fills it, so its joints are placed half as
    finely. In the crop every hand spans the same pixels, so the second fit is as fine whatever
    the framing, and the refined crop moves less when the film is padded, turned or mirrored.
    When the second fit fails (a crop the U-Net reads as no hand), or would change the side,
    turn the crop by more than :data:`MAX_REFINE_TURN_DEG` or scale it by more than
    :data:`MAX_REFINE_ZOOM`, the first pose stands."""
    second = pose_from_landmarks(landmarks, 1.0)
    if not isinstance(second, CanonicalPose):
        log.info("the pose was not refined: %s", second.reason)
        return pose
    if second.mirrored or abs(second.rotation_deg) > MAX_REFINE_TURN_DEG:
        # the side and the rough turn are the whole film's to decide: a crop whose landmarks
        # read as the other side (an infant's film, one seen here, whose fingers the U-Net
        # mislabelled in the crop) would otherwise be mirrored wrongly
        log.info("the pose was not refined: the crop's landmarks disagree with its side or turn")
        return pose
    if not 1 / MAX_REFINE_ZOOM <= second.scale_px * BOX_SIDE / crop_side <= MAX_REFINE_ZOOM:
        log.info("the pose was not refined: the crop's landmarks disagree with its scale")
        return pose
    crop_pixels_to_unit = np.array(
        [[1.0 / crop_side, 0.0, 0.5 / crop_side], [0.0, 1.0 / crop_side, 0.5 / crop_side]]
    )
    turn = -second.rotation_deg if pose.mirrored else second.rotation_deg
    return CanonicalPose(
        matrix=compose(pose.matrix, compose(crop_pixels_to_unit, second.matrix)),
        mirrored=pose.mirrored,
        rotation_deg=(pose.rotation_deg + turn + 180.0) % 360.0 - 180.0,
        scale_px=pose.scale_px * second.scale_px * BOX_SIDE / crop_side,
        residual=second.residual,
        points=second.points,
    )


NUDGES: tuple[tuple[float, float], ...] = ((0.0, 1.0), (3.0, 1.03), (-3.0, 0.97))
"""(turn in degrees, zoom) of the crops the multi-step path measures and averages
(:class:`boneage.multistep.measure.MeanMeasurements`), about the crop's centre: the first is the
pose itself, the others within the refined pose's own error on a changed framing. Five crops
(±3° with ±3 %, both pairings) steadied the reading a little more than these three, but each
costs a U-Net pass (about 35 ms on 2 threads), and five took the whole assessment from 0.15 to
0.4 s."""


def nudged(pose: CanonicalPose, turn_deg: float, zoom: float) -> CanonicalPose:
    """``pose`` with its crop turned by ``turn_deg`` and zoomed by ``zoom`` about its centre."""
    angle = math.radians(turn_deg)
    linear = zoom * np.array(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
    )
    centre = np.array([0.5, 0.5])
    inner = np.concatenate([linear, (centre - linear @ centre)[:, None]], axis=1)
    return replace(pose, matrix=compose(pose.matrix, inner))


def _grids(matrices: torch.Tensor, film_shape: tuple[int, int], side: int) -> torch.Tensor:
    """grid_sample grids (N, side, side, 2) for crop → film matrices (N, 2, 3)."""
    steps = (torch.arange(side, dtype=torch.float32) + 0.5) / side
    v, u = torch.meshgrid(steps, steps, indexing="ij")
    unit = torch.stack([u, v, torch.ones_like(u)], dim=-1)  # side, side, 3
    film_xy = torch.einsum("nij,hwj->nhwi", matrices.float(), unit)
    height, width = film_shape
    normalised = torch.stack(
        [(2 * film_xy[..., 0] + 1) / width - 1, (2 * film_xy[..., 1] + 1) / height - 1], dim=-1
    )
    return normalised


def sample_crops(
    films: torch.Tensor,
    matrices: torch.Tensor,
    side: int,
    *,
    fill: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """Canonical crops (N, 1, side, side) of films (N, 1, H, W) in 0..1 under crop → film
    matrices (N, 2, 3) (:attr:`CanonicalPose.matrix`). Bilinear; what lies outside a film takes
    ``fill``, by default each film's own :func:`border_level`, as the field square pads. A film
    whose pixels are much smaller than the crop's is area-reduced first, so fine detail does not
    alias."""
    if fill is None:
        fill = border_level(films)
    matrices = matrices.float()
    film_px_per_crop_px = torch.linalg.matrix_norm(matrices[:, :, :2], ord=2) / side
    reduction = float(film_px_per_crop_px.min())
    if reduction > 1.5:
        height, width = films.shape[-2:]
        size = (max(1, round(height / reduction)), max(1, round(width / reduction)))
        films = F.interpolate(films.float(), size=size, mode="area")
        factors = torch.tensor([size[1] / width, size[0] / height])
        matrices = matrices * factors[None, :, None]
        matrices[:, :, 2] += 0.5 * factors - 0.5
    fill_tensor = torch.as_tensor(fill, dtype=torch.float32).reshape(-1, 1, 1, 1)
    grids = _grids(matrices, tuple(films.shape[-2:]), side)
    shifted = films.float() - fill_tensor
    crops = F.grid_sample(
        shifted, grids, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return (crops + fill_tensor).clamp_(0, 1)


def pose_from_landmarks(
    landmarks: Mapping[str, Landmark],
    film_px_per_input_px: float,
    *,
    pixel_aspect: float = 1.0,
) -> CanonicalPose | PoseFailure:
    """:func:`fit_pose` from the landmark U-Net's landmarks (row, column in its input), which is
    the film area-resized by ``1 / film_px_per_input_px``."""

    def film(value: float) -> float:
        return (value + 0.5) * film_px_per_input_px - 0.5

    points = {name: (film(mark.col), film(mark.row)) for name, mark in landmarks.items()}
    confidence = {name: mark.confidence for name, mark in landmarks.items()}
    return fit_pose(points, confidence, pixel_aspect=pixel_aspect)


def _pixel_aspect(spacing_mm: tuple[float, float] | None) -> float:
    """A pixel's width over its height from the (row, column) spacing; 1 when unknown."""
    if spacing_mm is None or min(spacing_mm) <= 0:
        return 1.0
    return float(spacing_mm[1] / spacing_mm[0])


def hand_pose(
    field: FieldFrame,
    landmarks: Mapping[str, Landmark],
    landmark_side: int,
    spacing_mm: tuple[float, float] | None,
) -> CanonicalPose | PoseFailure:
    """The canonical pose of a framed film, from the landmark U-Net's landmarks on the frame at
    ``landmark_side`` pixels; the film's (row, column) spacing, when known, gives its pixel
    aspect. Found once per film: both paths read the crop it places."""
    return pose_from_landmarks(
        landmarks, field.square.shape[0] / landmark_side, pixel_aspect=_pixel_aspect(spacing_mm)
    )


def canonical_crop(field: FieldFrame, pose: CanonicalPose, side: int) -> np.ndarray:
    """The canonical crop (side × side, 0..1) of the framed film under ``pose``."""
    square = torch.from_numpy(np.ascontiguousarray(field.square))[None, None]
    matrix = torch.from_numpy(pose.matrix)[None]
    return sample_crops(square, matrix, side)[0, 0].numpy()


def border_level(films: torch.Tensor) -> torch.Tensor:
    """Median of each film's outermost rows and columns (N,): the level the crop takes where
    it reaches past the film, as the field square pads with its own border."""
    ring = torch.cat(
        [films[..., 0, :], films[..., -1, :], films[..., :, 0], films[..., :, -1]], dim=-1
    )
    return ring.flatten(1).median(dim=1).values

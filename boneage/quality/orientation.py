"""Orientation checks and corrections, read from the hand's outline, each stated in words.

In order: is there an image at all (not blank), is it inverted (background brighter than the
hand: flipped back), can the hand's outline be traced (one large object with fingers, not a
compact blob, scattered shapes or a trunk filling the field), is it upright (the principal axis
of hand and forearm: rotated when tilted beyond :data:`MAX_TILT_DEG`, turned over when the
fingers point down), and which side (DICOM laterality when present, else the thumb's side; a
right hand is mirrored to a left hand). Pose and side are read only when the outline could be
traced. A check that cannot decide says so ("laterality not determined") rather than guess.
Only the inversion is applied to the film the estimates read; the outline's pose turns the
outline alone (:attr:`Oriented.outline_pose`), since turning films by their outline turned about
one real film in eight sideways, over or into a right hand.

The outline is found once per film (:func:`boneage.framing.outline.find_hand`); turning the film
upright turns the outline with it, so pose and side are read from that one outline.

Written here with scikit-image region properties because none of MONAI's transforms answers
these questions; every threshold is a named constant with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage, signal
from skimage import filters, measure, transform

from boneage.contract import Check
from boneage.errors import InputError
from boneage.framing.outline import WORK_SIDE, HandMask, downsample, find_hand, flat_border_regions

MIN_STD = 0.01
"""Below this intensity standard deviation (0..1 units) the image is blank."""

HAND_FRACTION = (0.03, 0.8)
"""Share of the image a hand with forearm covers on any sensible field of view."""

MIN_LARGEST_SHARE = 0.6
"""The hand is one object: its component holds at least this share of the foreground."""

MAX_HAND_SOLIDITY = 0.9
"""Fingers leave gaps: a hand fills well under 90 % of its convex hull (observed 0.47-0.81)."""

MAX_TILT_DEG = 20.0
"""Tilt of the hand-forearm axis beyond which the image is rotated upright. Normal positioning
varies by up to about 15 degrees (observed on the ten real examples: 0-14), so smaller tilts
are left alone rather than risk a wrong correction."""

MIN_WEB_DROP = 0.08
"""The thumb-index web lies this far (share of the hand's length) below the web on the other
side of the hand; a smaller difference does not tell the side."""


@dataclass(frozen=True)
class Oriented:
    """The outcome of :func:`orient`: pixels in bone-bright, upright, left-hand form where the
    outline allowed, with what was checked and corrected.

    ``outline_problem`` says in words why the hand's outline could not be traced (orientation
    then left as acquired); ``rejected`` is set only when there is nothing to assess at all.
    ``as_acquired`` is the image with bone bright but in its acquired pose and side: what the
    end-to-end CNN trained on real films reads, since rotating or mirroring by the outline
    turned about one real RSNA film in eight sideways, over or into a right hand.
    """

    pixels: np.ndarray
    checks: tuple[Check, ...]
    corrections: tuple[str, ...]
    """What was done to the film every estimate reads (``as_acquired``): the inversion."""
    laterality: str | None
    outline_problem: str | None
    rejected: str | None
    as_acquired: np.ndarray
    outline_pose: tuple[str, ...] = ()
    """How ``pixels`` was turned and mirrored to an upright left hand by the outline, in words:
    used to check the outline only, never by an estimate, so never reported as a correction
    (the report once said "rotated 73°, turned 180°" of an upright film the estimates read as
    it was)."""


MIN_TEXTURED_BORDER = 0.25
"""Share of the border that must be textured (not flat) for the flat part to be set aside as
collimation when judging inversion; below it (a noise-free synthetic background) only the
bright flat stretches, the collimator shadows of a bone-bright display, are set aside."""


def is_inverted(pixels: np.ndarray) -> bool:
    """True when the bright part of the image centre (its upper quartile) is darker than the
    border's median.

    On a bone-bright radiograph the centre holds the palm and carpus, the brightest part of a
    hand, and the border is mostly background. The earlier rule (most of the border above Otsu's
    threshold) flipped 39 of 60 normal phantoms, whose borders the forearm and collimator
    shadows cover; this one flips none of them and still tells all ten real radiographs from
    their inversions. Flat border stretches (collimator shadows) are left out as described at
    :data:`MIN_TEXTURED_BORDER`."""
    small, _ = downsample(pixels, WORK_SIDE)
    smooth = filters.gaussian(small, sigma=1.5)
    ring = np.zeros(small.shape, bool)
    width = max(2, WORK_SIDE // 40)
    ring[:width], ring[-width:], ring[:, :width], ring[:, -width:] = True, True, True, True
    textured = ring & ~flat_border_regions(small, bright_only=False)
    if textured.sum() >= MIN_TEXTURED_BORDER * ring.sum():
        ring = textured
    else:
        ring &= ~flat_border_regions(small, bright_only=True)
    if not ring.any():
        return False
    rows, cols = small.shape
    centre = smooth[rows // 3 : rows - rows // 3, cols // 3 : cols - cols // 3]
    return float(np.percentile(centre, 75)) < float(np.median(smooth[ring]))


def _end_runs(mask: np.ndarray, from_top: bool) -> int:
    """Separate runs of the mask on the row 12 % of its height in from one end (fingers: 3-5)."""
    rows = np.nonzero(mask.any(axis=1))[0]
    offset = round(0.12 * (rows[-1] - rows[0]))
    row = mask[rows[0] + offset] if from_top else mask[rows[-1] - offset]
    return int(np.count_nonzero(np.diff(row.astype(np.int8)) == 1) + row[0])


def upright_angle(hand: HandMask) -> float:
    """Counter-clockwise rotation (degrees) that brings the hand-forearm axis vertical."""
    region = max(measure.regionprops(hand.mask.astype(np.uint8)), key=lambda r: r.area)
    return -float(np.degrees(region.orientation))


def thumb_side(mask: np.ndarray) -> str | None:
    """ "right" or "left" (image side of the thumb) on an upright hand mask, or None if unclear.

    The five fingertips are the peaks of the mask's top outline (fewer or more: unclear, as
    with fingers held together) and the web spaces the lowest points
    between neighbouring tips. The web between thumb and index finger reaches much deeper
    toward the wrist than the web between ring and little finger, so the thumb is on the side
    whose outermost web is lower by at least :data:`MIN_WEB_DROP` of the hand's length.
    """
    columns = np.nonzero(mask.any(axis=0))[0]
    rows = np.nonzero(mask.any(axis=1))[0]
    length = rows[-1] - rows[0] + 1
    top = np.where(mask.any(axis=0), mask.argmax(axis=0), mask.shape[0]).astype(float)
    height = (mask.shape[0] - top)[columns[0] : columns[-1] + 1]
    peaks, _ = signal.find_peaks(np.pad(height, 1), prominence=0.05 * length)
    peaks = peaks - 1
    if len(peaks) != 5:
        return None
    left_web = height[peaks[0] : peaks[1] + 1].min()
    right_web = height[peaks[-2] : peaks[-1] + 1].min()
    if abs(left_web - right_web) < MIN_WEB_DROP * length:
        return None
    return "left" if left_web < right_web else "right"


def orient(pixels: np.ndarray, *, laterality: str | None = None) -> Oriented:
    """Bring a radiograph to bone-bright form (the one correction every estimate reads) and its
    outline to upright, left-hand form (said in ``outline_pose``).

    The corrections do not depend on any accept/reject decision, so a model trained on images
    cached through this function (:mod:`boneage.training.common.image_cache`) sees at inference
    exactly the pixels it was trained on. Rotation,
    turning over and the thumb's side are read from the hand's outline and are applied only when
    that outline is plausible (:func:`_not_a_hand` finds nothing wrong with it); otherwise the
    image is left as acquired and the check says so: a wrong outline would rotate or mirror a
    hand that needed nothing.
    """
    pixels = np.asarray(pixels, dtype=np.float32)
    checks: list[Check] = []
    corrections: list[str] = []

    spread = float(pixels.std())
    if spread < MIN_STD:
        checks.append(
            Check(
                name="not_blank",
                passed=False,
                detail=f"the image is blank (intensity spread {spread:.4f})",
            )
        )
        blank = "The image is blank: there is no hand to assess."
        return Oriented(pixels, tuple(checks), (), None, None, blank, pixels)
    checks.append(
        Check(name="not_blank", passed=True, detail=f"the image has contrast (spread {spread:.2f})")
    )

    inverted = is_inverted(pixels)
    if inverted:
        pixels = 1.0 - pixels
        corrections.append(
            "inverted: the background was brighter than the hand, so the "
            "intensities were flipped to show bone bright"
        )
    checks.append(
        Check(
            name="inversion",
            passed=True,
            detail="background brighter than the hand; flipped"
            if inverted
            else "bone bright on a dark background",
        )
    )

    try:
        hand = find_hand(pixels)
    except InputError as error:
        checks.append(Check(name="is_hand", passed=False, detail=str(error)))
        return Oriented(pixels, tuple(checks), tuple(corrections), None, None, str(error), pixels)
    problem = _not_a_hand(hand)
    if problem is not None:
        checks.append(
            Check(
                name="outline",
                passed=False,
                detail=f"the hand's outline was not traced ({problem}), so the film was read as "
                "acquired, without turning or mirroring",
                informative=True,
            )
        )
        return Oriented(pixels, tuple(checks), tuple(corrections), None, problem, None, pixels)
    checks.append(
        Check(
            name="outline",
            passed=True,
            detail=f"one object with fingers, covering {hand.foreground_fraction:.0%} of the image",
        )
    )
    bright = pixels
    pose: list[str] = []
    pixels, hand = _make_upright(pixels, hand, checks, pose)
    side = _laterality(hand.mask, laterality, checks)
    if side == "R":
        pixels = np.ascontiguousarray(pixels[:, ::-1])
        source = "DICOM laterality" if laterality else "thumb on the left of the image"
        pose.append(f"right hand ({source}) mirrored to a left hand")
    return Oriented(
        pixels, tuple(checks), tuple(corrections), side, None, None, bright, tuple(pose)
    )


def _not_a_hand(hand: HandMask) -> str | None:
    """The reason the largest object is not a hand, or None when it could be one."""
    low, high = HAND_FRACTION
    if hand.largest_share < MIN_LARGEST_SHARE:
        return "no single large object stands out (scattered shapes or noise)"
    if hand.foreground_fraction < low:
        return f"the largest object covers only {hand.foreground_fraction:.1%} of the image"
    if hand.foreground_fraction > high:
        return (
            f"one object fills {hand.foreground_fraction:.0%} of the field, as a chest or "
            "trunk radiograph does"
        )
    if hand.solidity > MAX_HAND_SOLIDITY:
        return f"the object is a compact shape without fingers (solidity {hand.solidity:.2f})"
    return None


def _make_upright(
    pixels: np.ndarray, hand: HandMask, checks: list[Check], pose: list[str]
) -> tuple[np.ndarray, HandMask]:
    """Rotate a tilted outline upright and turn over one whose fingers point down, saying how
    in ``pose``; the outline is turned with the pixels rather than traced again."""
    angle = upright_angle(hand)
    if abs(angle) > MAX_TILT_DEG:
        pixels = _rotate(pixels, angle, hand.background_level)
        turned = transform.rotate(hand.mask.astype(np.float32), angle, resize=True, order=0)
        hand = replace(hand, mask=turned > 0.5)
        pose.append(
            f"rotated {abs(angle):.0f} degrees "
            f"{'counter-clockwise' if angle > 0 else 'clockwise'} to upright"
        )
    checks.append(
        Check(
            name="rotation",
            passed=True,
            detail=f"the outline's hand-forearm axis lies {angle:+.0f} degrees from vertical; "
            "the estimates read the film as stored (the end-to-end crop turns the hand by its "
            "own landmarks)",
        )
    )
    if _end_runs(hand.mask, from_top=False) > _end_runs(hand.mask, from_top=True):
        pixels = np.ascontiguousarray(pixels[::-1, ::-1])
        hand = replace(hand, mask=np.ascontiguousarray(hand.mask[::-1, ::-1]))
        pose.append("turned 180 degrees: the fingers pointed down")
    return pixels, hand


def _rotate(pixels: np.ndarray, angle_deg: float, fill: float) -> np.ndarray:
    rotated = transform.rotate(
        pixels, angle_deg, resize=True, order=1, mode="constant", cval=fill, preserve_range=True
    )
    return rotated.astype(np.float32)


def _laterality(mask: np.ndarray, tagged: str | None, checks: list[Check]) -> str | None:
    """The side as acquired, from the tag when present, else from the thumb's image side."""
    if tagged in ("L", "R"):
        checks.append(Check(name="laterality", passed=True, detail=f"DICOM laterality {tagged}"))
        return tagged
    thumb = thumb_side(ndimage.binary_fill_holes(mask))
    if thumb is None:
        checks.append(
            Check(
                name="laterality",
                passed=False,
                detail="laterality not determined (no tag, and the "
                "thumb's side is not clear); treated as a left hand",
                informative=True,
            )
        )
        return None
    side = "L" if thumb == "right" else "R"
    checks.append(
        Check(
            name="laterality",
            passed=True,
            detail=f"thumb on the {thumb} of the image: "
            f"{'left' if side == 'L' else 'right'} hand (posteroanterior view)",
        )
    )
    return side

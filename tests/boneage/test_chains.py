"""Fingers' joint chains that cross: found, named on the estimate, and the study flagged."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from boneage.framing.field import field_square
from boneage.multistep.chains import crossing_bones, crossing_words
from boneage.multistep.landmarks import Landmark, locate
from boneage.multistep.run import run_landmark_multistep
from boneage.registry import load_models
from tests.boneage.real_sample import real_film, val_ids

torch.set_num_threads(1)


def _hand() -> dict[str, Landmark]:
    """An upright left hand seen PA: five straight fingers side by side, thumb on the right."""
    points = {"wrist": (200.0, 128.0), "thumb_cmc": (180.0, 160.0)}
    for joint, row in zip(("mcp", "ip", "tip"), (160.0, 140.0, 120.0), strict=True):
        points[f"thumb_{joint}"] = (row, 175.0 + (160.0 - row) / 2)
    for finger, col in zip(("index", "middle", "ring", "little"), (150, 128, 106, 84), strict=True):
        for joint, row in zip(("mcp", "pip", "dip", "tip"), (130, 100, 80, 65), strict=True):
            points[f"{finger}_{joint}"] = (float(row), float(col))
    return {name: Landmark(row=r, col=c, confidence=0.9) for name, (r, c) in points.items()}


def test_fingers_side_by_side_do_not_cross():
    assert crossing_bones(_hand()) == []
    assert crossing_words([]) is None


def test_a_tip_that_jumped_to_the_neighbouring_finger_crosses_it():
    hand = _hand()
    hand["ring_tip"] = Landmark(row=60.0, col=140.0, confidence=0.9)  # over the index finger
    pairs = crossing_bones(hand)
    assert ("distal_phalanx_3", "distal_phalanx_4") in pairs
    assert all("distal_phalanx_4" in pair for pair in pairs)
    words = crossing_words(pairs)
    assert words.startswith("The fingers' joint chains cross (")
    assert "distal phalanx 4" in words and "Check the overlay." in words


def test_a_landmark_below_confidence_is_not_part_of_any_chain():
    hand = _hand()
    hand["ring_tip"] = Landmark(row=60.0, col=140.0, confidence=0.05)
    assert crossing_bones(hand) == []


@pytest.fixture(scope="module")
def models():
    return load_models()


def test_the_crossing_bones_are_named_on_the_estimate_and_the_study_is_flagged(models):
    # the first sample film whose chains do not cross (some do: the first has its thumb's
    # tip on the little finger)
    film, located = next(
        (image, hand)
        for image in (field_square(real_film(i)).image for i in val_ids())
        for hand in [locate(models.landmarks, image)]
        if not crossing_bones(hand.landmarks)
    )
    # move the ring finger's tip onto the index finger's middle phalanx, across the middle one
    dip, pip = located.landmarks["index_dip"], located.landmarks["index_pip"]
    jumped = Landmark(row=(dip.row + pip.row) / 2, col=(dip.col + pip.col) / 2, confidence=0.9)
    moved = replace(located, landmarks={**located.landmarks, "ring_tip": jumped})
    pairs = crossing_bones(moved.landmarks)
    assert pairs, "the moved tip must cross the middle finger"
    reading = run_landmark_multistep(
        film,
        spacing_mm=None,
        sex="F",
        network=models.landmarks,
        reference=models.reference,
        hand=moved,
    )
    assert reading.estimate.landmark_warning == crossing_words(pairs)
    assert "distal phalanx 4" in reading.estimate.landmark_warning
    untouched = run_landmark_multistep(
        film, spacing_mm=None, sex="F", network=models.landmarks, reference=models.reference
    )
    assert untouched.estimate.landmark_warning is None
    assert np.isfinite(reading.estimate.age_months)


def test_an_assessment_with_crossing_chains_is_flagged_for_review_and_says_why(models):
    from boneage.assess import assess
    from boneage.io import read_radiograph
    from tests.boneage.real_sample import RSNA_SAMPLE

    # the first sample film's thumb tip lies on the little finger (see above)
    film = read_radiograph(RSNA_SAMPLE / "images" / f"{val_ids()[0]}.jpg")
    record = assess(film, models=models, sex="F").record
    assert record.multistep.landmark_warning
    assert record.agreement.flag_for_review
    assert record.agreement.reason.endswith(f"Flagged: {record.multistep.landmark_warning}")

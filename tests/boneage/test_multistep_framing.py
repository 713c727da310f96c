"""Where the multi-step path measures: the canonical hand for a table fitted there, the whole
film (said in words) when the palm gives no pose, and the whole film for a whole-film table."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boneage.framing.canonical import CanonicalPose, PoseFailure, hand_pose
from boneage.framing.field import INPUT_SIZE, frame_field
from boneage.multistep.framing import read_multistep
from boneage.multistep.landmarks import locate
from boneage.registry import load_models
from tests.boneage.real_sample import real_film, val_ids

torch.set_num_threads(1)

NO_PALM = PoseFailure("fewer than 4 palm landmarks were found")


@pytest.fixture(scope="module")
def models():
    return load_models()


def _framed(pixels: np.ndarray, models):
    field = frame_field(pixels)
    image = field.at(INPUT_SIZE).image
    hand = locate(models.landmarks, image)
    return field, image, hand, hand_pose(field, hand.landmarks, INPUT_SIZE, None)


def _read(models, framed, pose, *, canonical=True, fallback=True):
    field, image, hand, _ = framed
    return read_multistep(
        field,
        image,
        hand,
        pose,
        spacing_mm=None,
        sex="F",
        network=models.landmarks,
        reference=models.reference,
        canonical=canonical,
        field_reference=models.reference if fallback else None,
    )


@pytest.fixture(scope="module")
def framed(models):
    return _framed(real_film(val_ids()[2]), models)


def test_a_canonical_table_reads_the_hand_in_the_canonical_crop(models, framed):
    assert isinstance(framed[3], CanonicalPose)
    read = _read(models, framed, framed[3])
    assert read.role == "reference" and "canonical hand crop" in read.framing_note
    estimate = read.reading.estimate
    assert estimate.answered
    assert estimate.interval_months[0] <= estimate.age_months <= estimate.interval_months[1]
    # the measurements are the crop's, not the whole film's
    on_the_film = _read(models, framed, framed[3], canonical=False).reading
    assert on_the_film.measurements != read.reading.measurements
    assert _read(models, framed, framed[3], canonical=False).framing_note == ""


def test_a_mirrored_film_reads_within_the_interval_of_the_film(models, framed):
    mirrored = _framed(real_film(val_ids()[2])[:, ::-1].copy(), models)
    assert isinstance(mirrored[3], CanonicalPose) and mirrored[3].mirrored
    # the crop makes it a left hand again: each reading lies inside the other's interval (on 300
    # val films a mirror moved the canonical reading by a median 4.1 months, 6.7 on the film)
    first = _read(models, framed, framed[3]).reading.estimate
    again = _read(models, mirrored, mirrored[3]).reading.estimate
    assert first.interval_months[0] <= again.age_months <= first.interval_months[1]
    assert again.interval_months[0] <= first.age_months <= again.interval_months[1]


def test_without_a_pose_the_whole_film_table_reads_and_the_report_says_so(models, framed):
    read = _read(models, framed, NO_PALM)
    assert read.role == "reference_field"
    assert read.framing_note.startswith("multi-step: fewer than 4 palm landmarks were found;")
    assert read.reading.estimate.answered


def test_without_a_pose_or_a_whole_film_table_the_path_says_why(models, framed):
    read = _read(models, framed, NO_PALM, fallback=False)
    assert read.reading.estimate.rejected == (
        "Multi-step: fewer than 4 palm landmarks were found, and no whole-film reference table "
        "is installed to read it."
    )
    assert read.reading.overlay.ndim == 3  # the reader still sees what the U-Net found

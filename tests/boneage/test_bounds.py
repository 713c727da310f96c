"""No estimate or interval outside the training labels' range, and the cut said in words."""

from __future__ import annotations

from boneage.contract import BoneRow, EndtoendEstimate, Maturity, MultistepEstimate, PartAge
from boneage.report.bounds import TRAINED_AGE_RANGE_MONTHS, within_trained_range


def test_an_interval_below_birth_is_cut_at_zero_and_said_to_be():
    estimate = within_trained_range(EndtoendEstimate(age_months=-3.0, interval_months=(-20, 14)))
    assert estimate.age_months == 0.0 and estimate.interval_months == (0.0, 14)
    assert estimate.edge == (
        "The estimate reached below birth and is cut at 0; the 90 % interval reached below "
        "birth and is cut at 0."
    )


def test_an_interval_past_the_oldest_training_age_is_cut_there():
    oldest = TRAINED_AGE_RANGE_MONTHS[1]
    estimate = within_trained_range(EndtoendEstimate(age_months=220.0, interval_months=(200, 245)))
    assert estimate.interval_months == (200, oldest) and estimate.age_months == 220.0
    assert "past 19 years, the oldest age among the training films" in estimate.edge


def test_the_carpal_and_tubular_ages_are_held_too():
    maturity = Maturity(
        carpal=PartAge(age_months=17.0, interval_months=(-7.0, 41.0)),
        tubular=PartAge(age_months=20.0, interval_months=(8.0, 32.0)),
    )
    estimate = MultistepEstimate(age_months=19.0, interval_months=(5.0, 33.0), maturity=maturity)
    held = within_trained_range(estimate)
    assert held.maturity.carpal.interval_months == (0.0, 41.0)
    assert held.maturity.tubular == maturity.tubular
    assert held.edge == "The carpal age reached below birth and is cut at 0."
    # what the path said of its own edge (a hand past the table) is kept before the cut
    said = estimate.model_copy(update={"edge": "The hand reads less mature than any …"})
    assert within_trained_range(said).edge == (
        "The hand reads less mature than any … The carpal age reached below birth and is cut at 0."
    )


def test_an_estimate_inside_the_range_or_without_an_age_is_unchanged():
    inside = EndtoendEstimate(age_months=100.0, interval_months=(80.0, 120.0))
    assert within_trained_range(inside) == inside
    rejected = EndtoendEstimate(rejected="no hand")
    assert within_trained_range(rejected) == rejected


def test_a_bone_that_alone_reads_past_the_oldest_age_is_shown_at_it_and_named():
    bones = [
        BoneRow(bone="distal_phalanx_3", kind="long", age_months=250.0),
        BoneRow(bone="metacarpal_1", kind="long", age_months=130.0),
        BoneRow(bone="carpus", kind="carpal"),
    ]
    estimate = MultistepEstimate(age_months=132.0, interval_months=(110.0, 150.0), bones=bones)
    held = within_trained_range(estimate)
    assert [b.age_months for b in held.bones] == [228.0, 130.0, None]
    assert held.edge.startswith("1 bone alone reads outside the training ages and is shown")
    assert "(distal phalanx 3)" in held.edge

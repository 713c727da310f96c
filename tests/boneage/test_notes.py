"""The confidence notes: each sentence appears exactly when its condition holds."""

from __future__ import annotations

from dataclasses import replace

import pytest

from boneage.contract import Estimate
from boneage.modelcard import HeldOut, ModelCard, TrainingData
from boneage.report.notes import (
    agreement_sentence,
    band_sentence,
    compare_estimates,
    endtoend_note,
    error_sentence,
    multistep_note,
    other_method_sentence,
    summary_note,
    training_sentence,
    validation_sentence,
)


def _card(kind, data_kind="phantom", size=400, mae=14.2, coverage=0.9, curve=()):
    return ModelCard(
        name=kind,
        version="1.0.0",
        kind=kind,
        architecture="test",
        parameter_count=1,
        training_data=TrainingData(kind=data_kind, size=size),
        held_out=HeldOut(kind=data_kind, size=100, mae_months=mae, coverage_90=coverage),
        file="x",
        file_sha256="0",
        learning_curve=list(curve),
    )


@pytest.fixture
def cards():
    curve = [
        {"method": "multistep", "n_train": 25, "mae_months": None, "rejected": 60, "held_out": 60},
        {"method": "multistep", "n_train": 100, "mae_months": 20.0, "rejected": 7, "held_out": 60},
        {"method": "multistep", "n_train": 400, "mae_months": 11.0},
        {"method": "endtoend", "n_train": 400, "mae_months": 14.2},
    ]
    return {
        "segmentation": _card("segmentation", size=200),
        "reference": _card("reference", mae=12.0, coverage=None),
        "regression": _card("regression", curve=curve),
    }


def estimate(age, low, high):
    return Estimate(age_months=age, interval_months=(low, high))


def test_estimates_within_their_combined_uncertainty_agree_without_review():
    agreement = compare_estimates(estimate(100, 90, 110), estimate(108, 100, 116))
    assert agreement.agree and not agreement.flag_for_review
    assert agreement.difference_months == 8
    assert agreement.limit_months == pytest.approx(12.8, abs=0.1)  # hypot(10, 8)


def test_overlapping_intervals_can_still_disagree():
    """Intervals 6 years wide overlap at a 21-month difference; their combined uncertainty
    (hypot of the half-widths toward each other) is what the difference is judged against."""
    agreement = compare_estimates(estimate(100, 88, 112), estimate(121, 109, 133))
    assert agreement.agree is False and agreement.flag_for_review
    assert "allows 17" in agreement.reason


def test_separate_intervals_disagree_and_flag_for_review():
    agreement = compare_estimates(estimate(100, 90, 110), estimate(130, 120, 140))
    assert agreement.agree is False and agreement.flag_for_review
    assert "review" in agreement.reason
    assert "Disagrees with the multi-step estimate by 30 months" in agreement_sentence(
        agreement, "multistep"
    )


def test_one_missing_estimate_flags_for_review_without_agreement_sentence():
    agreement = compare_estimates(Estimate(rejected="no hand"), estimate(100, 90, 110))
    assert agreement.agree is None and agreement.flag_for_review
    assert "Only the end-to-end method" in agreement.reason
    assert agreement_sentence(agreement, "multistep") is None


def test_training_sentence_names_kind_and_size(cards):
    assert training_sentence([cards["regression"]]) == "Trained on 400 synthetic phantoms."
    real = _card("regression", data_kind="RSNA", size=12611)
    assert training_sentence([real]) == "Trained on 12,611 RSNA radiographs."
    landmarks = _card("segmentation", data_kind="rsna-2017-train-annotated", size=1043)
    table = _card("reference", data_kind="rsna-2017-train", size=9000)
    assert training_sentence([landmarks, table]) == (
        "Table fitted on 9,000 real RSNA 2017 training radiographs; bones located by a U-Net "
        "trained on 1,043 annotated real RSNA 2017 training radiographs."
    )


def test_error_sentence_gives_mae_and_coverage_only_when_measured(cards):
    text = error_sentence(cards["regression"])
    assert "14 months" in text and "held the true age in 90 % of them" in text
    assert "interval" not in error_sentence(cards["reference"])
    assert error_sentence(_card("regression", mae=None)) is None


def test_other_method_sentence_compares_both_methods_at_the_nearest_size_on_the_curve(cards):
    text = other_method_sentence(cards["regression"], "multistep")
    assert text == (
        "On the learning curve at 400 training cases the multi-step method measured 11 months, "
        "this one 14 months."
    )
    assert other_method_sentence(cards["reference"], "endtoend") is None


def test_other_method_sentence_says_how_many_hands_that_method_declined(cards):
    small = _card("regression", size=90, curve=cards["regression"].learning_curve)
    assert other_method_sentence(small, "multistep") == (
        "On the learning curve at 100 training cases the multi-step method measured 20 months "
        "(declining 7 of 60 hands)."
    )
    tiny = _card("regression", size=20, curve=cards["regression"].learning_curve)
    assert "at 100 training cases" in other_method_sentence(tiny, "multistep")  # 25: no MAE


def test_validation_warning_only_for_synthetic_training(cards):
    assert "not validated on real radiographs" in validation_sentence([cards["regression"]])
    assert validation_sentence([_card("regression", data_kind="RSNA")]) is None


def test_notes_join_the_sentences_that_apply(cards):
    agreement = compare_estimates(estimate(100, 90, 110), estimate(104, 95, 113))
    note = endtoend_note(cards, agreement)
    assert note.startswith("Trained on 400 synthetic phantoms.")
    assert "multi-step method measured 11 months" in note
    assert note.endswith("Agrees with the multi-step estimate (within their combined uncertainty).")
    ms_note = multistep_note(cards, agreement)
    assert ms_note.startswith("Trained on 200 synthetic phantoms.")
    assert "12 months" in ms_note and "end-to-end estimate" in ms_note
    real_cards = {
        k: replace(c, training_data=TrainingData(kind="RSNA", size=9)) for k, c in cards.items()
    }
    assert "validated" not in endtoend_note(real_cards, agreement)


def test_real_training_is_named_and_the_age_band_error_quoted():
    real = replace(
        _card("regression", data_kind="rsna-2017-train", size=9488),
        held_out=HeldOut(
            kind="rsna-2017-val", size=2523, mae_months=11.0, metrics={"mae/6-10 y": 9.4}
        ),
    )
    assert training_sentence([real]) == "Trained on 9,488 real RSNA 2017 training radiographs."
    assert band_sentence(real, 100.0) == "At bone ages of 6-10 y it measured 9 months."
    assert band_sentence(real, 200.0) is None
    assert band_sentence(real, None) is None
    assert validation_sentence([real]) is None


def test_the_summary_is_one_sentence_of_data_size_and_error(cards):
    real = {
        k: replace(c, training_data=TrainingData(kind="rsna-2017-train", size=9488))
        for k, c in cards.items()
    }
    assert summary_note("endtoend", real) == (
        "Trained on 9,488 real RSNA 2017 training radiographs; typical error at that size "
        "14 months."
    )
    assert summary_note("multistep", cards) == (
        "Table fitted on 400 synthetic phantoms; typical error at that size 12 months; "
        "not validated on real radiographs."
    )
    no_figures = replace(real["regression"], held_out=HeldOut(kind="x", size=0))
    unmeasured = {**real, "regression": no_figures}
    assert "error" not in summary_note("endtoend", unmeasured)

"""The confidence notes: what a pediatrician reads in five seconds beside each estimate.

Pure functions of the model cards and the two estimates. Each note says, one short sentence at
a time: what the estimate was trained on and how much of it; its measured error at that size,
overall and in the age band of the estimate;
where the other method stands at that size (from the learning curve on the card, when there is
one); that synthetic training has not been validated on real radiographs (when it was
synthetic); and whether the two estimates agree within their combined uncertainty, a
disagreement flagging the study for review.

A learning-curve entry on a card is ``{"method": "multistep" | "endtoend", "n_train": int,
"mae_months": float}`` (more keys are ignored).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from boneage.contract import AgreementRecord, Estimate
from boneage.modelcard import ModelCard
from boneage.report.age_bands import band_of, metric_key

METHOD_NAMES = {"multistep": "multi-step", "endtoend": "end-to-end"}
"""How each method is named in a note."""

METHOD_CARDS = {"multistep": ("segmentation", "reference"), "endtoend": ("regression",)}
"""The cards behind each method; the last one holds the method's measured error."""


def difference_limit(
    first: tuple[float, float, float], second: tuple[float, float, float]
) -> float:
    """The largest difference two estimates ``(age, low, high)`` with 90 % intervals may show
    and still agree: each interval's half-width toward the other is its own 1.645-SD error, and
    two independent errors combine as the root of their squares."""
    (a, a_low, a_high), (b, b_low, b_high) = first, second
    if b > a:
        return math.hypot(a_high - a, b - b_low)
    return math.hypot(a - a_low, b_high - b)


def compare_estimates(multistep: Estimate, endtoend: Estimate) -> AgreementRecord:
    """Whether the two estimates agree: their difference (end-to-end minus multi-step) lies
    within :func:`difference_limit`, sqrt(h1² + h2²), the largest difference their combined
    uncertainty allows. Interval overlap (h1 + h2) was too lenient: two wide intervals overlapped
    at differences of two years. With fewer than two estimates, ``agree`` is None and the study
    is flagged for review."""
    have = [name for name, e in (("multistep", multistep), ("endtoend", endtoend)) if e.answered]
    if len(have) < 2:
        missing = "Neither method" if not have else f"Only the {METHOD_NAMES[have[0]]} method"
        return AgreementRecord(
            agree=None,
            difference_months=None,
            flag_for_review=True,
            reason=f"{missing} gave an estimate: review the study.",
            limit_months=None,
        )
    m_age, e_age = float(multistep.age_months), float(endtoend.age_months)
    difference = e_age - m_age
    limit = difference_limit(
        (m_age, *map(float, multistep.interval_months)),
        (e_age, *map(float, endtoend.interval_months)),
    )
    words = (
        f"The two estimates differ by {abs(difference):.0f} months; their combined 90 % "
        f"uncertainty allows {limit:.0f}"
    )
    agree = abs(difference) <= limit
    return AgreementRecord(
        agree=agree,
        difference_months=round(difference, 1),
        flag_for_review=not agree,
        reason=words + ("." if agree else ": review the study."),
        limit_months=round(limit, 1),
    )


DATASET_NAMES = {
    "rsna-2017-train": "real RSNA 2017 training",
    "rsna-2017-train-annotated": "annotated real RSNA 2017 training",
    "rsna-2017-val": "real RSNA 2017 validation-split",
}
"""How a card's dataset kind is named in a note."""


def _noun(kind: str, size: int) -> str:
    if kind == "phantom":
        return f"{size} synthetic phantom{'s' if size != 1 else ''}"
    name = DATASET_NAMES.get(kind, kind)
    return f"{size:,} {name} radiograph{'s' if size != 1 else ''}"


def training_sentence(cards: list[ModelCard]) -> str:
    """What the models behind the estimate learnt from, and how much of it: for a multi-step
    estimate on real data, the age-labelled hands its table was fitted on and the annotated
    ones its U-Net learnt to find bones on."""
    first, last = (_noun(c.training_data.kind, c.training_data.size) for c in (cards[0], cards[-1]))
    if len(cards) == 1 or cards[0].training_data.synthetic:
        return f"Trained on {first}."
    return f"Table fitted on {last}; bones located by a U-Net trained on {first}."


def error_sentence(card: ModelCard) -> str | None:
    """The held-out error measured at this training size, when the card has one."""
    held = card.held_out
    if held.mae_months is None:
        return None
    sentence = (
        f"Measured error at that size: {held.mae_months:.0f} months on average over "
        f"{_noun(held.kind, held.size).replace('synthetic ', '')} never trained on"
    )
    if held.coverage_90 is not None:
        sentence += (
            f"; the 90 % interval held the true age in {held.coverage_90 * 100:.0f} % of them"
        )
    return sentence + "."


def band_sentence(card: ModelCard, age_months: float | None) -> str | None:
    """The held-out error in the age band of this estimate, when the card measured it."""
    if age_months is None:
        return None
    band = band_of(age_months)
    mae = card.held_out.metrics.get(metric_key(band))
    if mae is None:
        return None
    return f"At bone ages of {band} it measured {mae:.0f} months."


def _curve_result(point: Mapping[str, Any]) -> str:
    """``"19 months (declining 4 of 120 hands)"`` for one learning-curve point with an MAE."""
    rejected = int(point.get("rejected") or 0)
    refusals = f" (declining {rejected} of {int(point['held_out'])} hands)" if rejected else ""
    return f"{float(point['mae_months']):.0f} months{refusals}"


def other_method_sentence(card: ModelCard, other: str) -> str | None:
    """Where the ``other`` method stands at this model's training size, from the learning curve
    on the card (the nearest size it has an MAE at), beside this method's own result at that
    size on the same curve: the curve trains both with one budget, the shipped models need not
    match it, so a reader compares like with like. None without a curve."""
    size = card.training_data.size
    measured = [p for p in card.learning_curve if p.get("mae_months") is not None]
    theirs = [p for p in measured if p.get("method") == other]
    if not theirs:
        return None
    nearest = min(theirs, key=lambda p: abs(int(p["n_train"]) - size))
    n = int(nearest["n_train"])
    sentence = (
        f"On the learning curve at {n} training cases the {METHOD_NAMES[other]} method measured "
        f"{_curve_result(nearest)}"
    )
    own = [p for p in measured if p.get("method") != other and int(p["n_train"]) == n]
    if own:
        sentence += f", this one {_curve_result(own[0])}"
    return sentence + "."


def validation_sentence(cards: list[ModelCard]) -> str | None:
    """The warning that synthetic training has not been validated on real radiographs."""
    if any(card.training_data.synthetic for card in cards):
        return "Trained on synthetic images only: not validated on real radiographs."
    return None


def agreement_sentence(agreement: AgreementRecord, other: str) -> str | None:
    """Whether this estimate agrees with the other method's, or None when there is no other."""
    if agreement.agree is None:
        return None
    name = METHOD_NAMES[other]
    if agreement.agree:
        return f"Agrees with the {name} estimate (within their combined uncertainty)."
    return (
        f"Disagrees with the {name} estimate by {abs(agreement.difference_months):.0f} "
        f"months (more than the {agreement.limit_months:.0f} their combined uncertainty "
        "allows): flagged for review."
    )


def method_note(
    method: str,
    cards: Mapping[str, ModelCard],
    agreement: AgreementRecord,
    age_months: float | None = None,
) -> str:
    """The note beside one method's estimate (``method`` is "multistep" or "endtoend") of
    ``age_months``."""
    other = "endtoend" if method == "multistep" else "multistep"
    own = [cards[kind] for kind in METHOD_CARDS[method]]
    measured = own[-1]
    sentences = [
        training_sentence(own),
        error_sentence(measured),
        band_sentence(measured, age_months),
        other_method_sentence(measured, other),
        validation_sentence(own),
        agreement_sentence(agreement, other),
    ]
    return " ".join(s for s in sentences if s)


def summary_note(method: str, cards: Mapping[str, ModelCard]) -> str:
    """The one sentence a report shows before its "details": how much labelled data taught this
    method, and its measured error at that size (:func:`method_note` has the figures)."""
    measured = cards[METHOD_CARDS[method][-1]]
    data = measured.training_data
    verb = "Table fitted on" if method == "multistep" else "Trained on"
    sentence = f"{verb} {_noun(data.kind, data.size)}"
    if measured.held_out.mae_months is not None:
        sentence += f"; typical error at that size {measured.held_out.mae_months:.0f} months"
    if data.synthetic:
        sentence += "; not validated on real radiographs"
    return sentence + "."


def multistep_note(
    cards: Mapping[str, ModelCard], agreement: AgreementRecord, age_months: float | None = None
) -> str:
    """The note beside the multi-step estimate (segmentation card's data, reference's error)."""
    return method_note("multistep", cards, agreement, age_months)


def endtoend_note(
    cards: Mapping[str, ModelCard], agreement: AgreementRecord, age_months: float | None = None
) -> str:
    """The note beside the end-to-end estimate."""
    return method_note("endtoend", cards, agreement, age_months)

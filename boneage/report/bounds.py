"""No age outside what the models have seen: every estimate and interval held to the training
labels' range, and the cut said in words.

A regression head or a reference table extrapolates: the end-to-end CNN answered down to -4
months for a newborn's hand, and a carpal-only interval reached below birth. A bone age below
0 means nothing, and one past the oldest training label is a guess no model measured; so each
estimate's age, its 90 % interval and its carpal and tubular ages are held to
:data:`TRAINED_AGE_RANGE_MONTHS`, and the estimate's ``edge`` says what was cut, so that a
reader knows the estimate sits at the edge of what its models learnt.
"""

from __future__ import annotations

from typing import TypeVar

from boneage.contract import Estimate, MultistepEstimate, PartAge

TRAINED_AGE_RANGE_MONTHS = (0.0, 228.0)
"""Birth to 19 years: the RSNA 2017 training labels run from 1 to 228 months, and every shipped
model learnt from them (the phantoms cover a narrower range)."""

EstimateT = TypeVar("EstimateT", bound=Estimate)


def _held(value: float) -> float:
    low, high = TRAINED_AGE_RANGE_MONTHS
    return min(high, max(low, value))


def _words(what: str, values: list[float]) -> list[str]:
    low, high = TRAINED_AGE_RANGE_MONTHS
    cuts = []
    if min(values) < low:
        cuts.append(f"{what} reached below birth and is cut at 0")
    if max(values) > high:
        cuts.append(
            f"{what} reached past {high / 12:.0f} years, the oldest age among the training "
            "films, and is cut there"
        )
    return cuts


def within_trained_range(estimate: EstimateT) -> EstimateT:
    """``estimate`` with its ages held to the training range and, when any was cut, ``edge``
    saying which; an estimate without an age is returned as it is."""
    if not estimate.answered:
        return estimate
    assert estimate.age_months is not None and estimate.interval_months is not None
    low, high = estimate.interval_months
    cuts = _words("the estimate", [estimate.age_months])
    cuts += _words("the 90 % interval", [low, high])
    update: dict[str, object] = {
        "age_months": _held(estimate.age_months),
        "interval_months": (_held(low), _held(high)),
    }
    if isinstance(estimate, MultistepEstimate) and estimate.maturity is not None:
        parts: dict[str, PartAge | None] = {}
        for name in ("carpal", "tubular"):
            part: PartAge | None = getattr(estimate.maturity, name)
            if part is not None:
                part_low, part_high = part.interval_months
                cuts += _words(f"the {name} age", [part.age_months, part_low, part_high])
                part = PartAge(
                    age_months=_held(part.age_months),
                    interval_months=(_held(part_low), _held(part_high)),
                )
            parts[name] = part
        update["maturity"] = estimate.maturity.model_copy(update=parts)
    if cuts:
        update["edge"] = "; ".join(cuts).capitalize() + "."
    return estimate.model_copy(update=update)

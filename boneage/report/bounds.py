"""No age outside what the models have seen: every estimate and interval held to the training
labels' range, and the cut said in words.

A regression head or a reference table extrapolates: the end-to-end CNN answered down to -4
months for a newborn's hand, and a carpal-only interval reached below birth. A bone age below
0 means nothing, and one past the oldest training label is a guess no model measured; so each
estimate's age, its 90 % interval, its carpal and tubular ages and each bone's own age are held
to :data:`TRAINED_AGE_RANGE_MONTHS`, and the estimate's ``edge`` says what was cut, so that a
reader knows the estimate sits at the edge of what its models learnt.
"""

from __future__ import annotations

from typing import TypeVar

from boneage.contract import BoneRow, Estimate, Maturity, MultistepEstimate, PartAge

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
    if isinstance(estimate, MultistepEstimate):
        if estimate.maturity is not None:
            update["maturity"] = _held_maturity(estimate.maturity, cuts)
        update["bones"] = _held_bones(estimate.bones, cuts)
    if cuts:
        cut = "; ".join(cuts).capitalize() + "."
        update["edge"] = f"{estimate.edge} {cut}" if estimate.edge else cut
    return estimate.model_copy(update=update)


def _held_maturity(maturity: Maturity, cuts: list[str]) -> Maturity:
    """The carpal and tubular ages held to the range; what was cut is added to ``cuts``."""
    parts: dict[str, PartAge | None] = {}
    for name in ("carpal", "tubular"):
        part: PartAge | None = getattr(maturity, name)
        if part is not None:
            part_low, part_high = part.interval_months
            cuts += _words(f"the {name} age", [part.age_months, part_low, part_high])
            part = PartAge(
                age_months=_held(part.age_months),
                interval_months=(_held(part_low), _held(part_high)),
            )
        parts[name] = part
    return maturity.model_copy(update=parts)


def _held_bones(bones: list[BoneRow], cuts: list[str]) -> list[BoneRow]:
    """Each bone's own age held to the range; the bones cut are named in ``cuts``."""
    beyond = [
        b.bone for b in bones if b.age_months is not None and b.age_months != _held(b.age_months)
    ]
    if beyond:
        one = len(beyond) == 1
        cuts.append(
            f"{len(beyond)} {'bone alone reads' if one else 'bones alone read'} outside the "
            f"training ages and {'is' if one else 'are'} shown at its edge "
            f"({', '.join(bone.replace('_', ' ') for bone in beyond)}): a bone at its adult size, "
            "or not yet ossified, says no more than that"
        )
    return [
        b if b.age_months is None else b.model_copy(update={"age_months": _held(b.age_months)})
        for b in bones
    ]

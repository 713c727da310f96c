"""Bone age against chronological age: the difference, its SDS and the clinical category.

A bone age means little alone: a pediatrician reads it against the child's age. The spread of
bone age in healthy children grows with age, so the difference is expressed in standard
deviations (SDS) of skeletal age at that chronological age.

Source of the standard deviations: Greulich & Pyle, *Radiographic Atlas of Skeletal Development
of the Hand and Wrist*, 2nd ed. (Stanford University Press, 1959), table of standard deviations
of skeletal age by chronological age and sex (Brush Foundation sample), the table that bone-age
software conventionally uses for SDS. Between tabulated ages the SD is interpolated linearly;
outside them it is held at the nearest tabulated value.

Category: outside ±2 SD is "delayed" or "advanced", as in the usual clinical reading of the
atlas; inside is "within normal". An estimate with an interval gets a category only when its
whole 90 % interval lies in one band; an interval that straddles a limit is "not determined",
and the comparison says so in words: a 6-year-wide interval cannot call an 18-month-old
"advanced", whatever its centre says.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

Sex = Literal["F", "M"]
Category = Literal["delayed", "within normal", "advanced", "not determined"]

_AGES_MONTHS = np.array(
    [
        3,
        6,
        9,
        12,
        18,
        24,
        30,
        36,
        42,
        48,
        54,
        60,
        72,
        84,
        96,
        108,
        120,
        132,
        144,
        156,
        168,
        180,
        192,
        204,
    ],
    dtype=float,
)
_SD_MONTHS: dict[str, np.ndarray] = {
    "M": np.array(
        [
            0.69,
            1.13,
            1.43,
            1.97,
            3.52,
            3.92,
            4.52,
            5.08,
            5.40,
            6.66,
            8.36,
            8.79,
            9.17,
            8.91,
            9.10,
            9.00,
            9.79,
            10.09,
            10.38,
            10.44,
            10.72,
            11.32,
            12.86,
            13.05,
        ]
    ),
    "F": np.array(
        [
            0.72,
            1.16,
            1.36,
            1.77,
            3.49,
            4.64,
            5.37,
            5.97,
            7.48,
            8.98,
            10.73,
            10.73,
            11.65,
            10.23,
            9.64,
            10.23,
            10.74,
            11.73,
            11.94,
            10.24,
            10.67,
            11.30,
            9.23,
            7.31,
        ]
    ),
}

SDS_LIMIT = 2.0
"""Beyond this many SDs from the chronological age a bone age is delayed or advanced."""


def bone_age_sd_months(chronological_age_months: float | np.ndarray, sex: Sex) -> np.ndarray:
    """SD of skeletal age (months) in healthy children of this chronological age and sex."""
    return np.interp(chronological_age_months, _AGES_MONTHS, _SD_MONTHS[sex])


@dataclass(frozen=True)
class ChronologicalComparison:
    """Bone age read against chronological age."""

    age_months: float
    difference_months: float
    sds: float
    category: Category
    sd_source: str = "Greulich & Pyle 1959"
    category_reason: str = ""
    sds_interval: tuple[float, float] | None = None
    """The SDS of the two ends of the estimate's 90 % interval, when it has one."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _band(sds: float) -> Category:
    if sds < -SDS_LIMIT:
        return "delayed"
    if sds > SDS_LIMIT:
        return "advanced"
    return "within normal"


def compare(
    bone_age_months: float,
    chronological_age_months: float,
    sex: Sex,
    interval_months: tuple[float, float] | None = None,
) -> ChronologicalComparison:
    """Difference (bone minus chronological age), SDS and category.

    With ``interval_months`` (the estimate's 90 % interval) the category is the band both ends
    of the interval fall in, or "not determined" when they fall in different bands."""
    difference = bone_age_months - chronological_age_months
    sd = float(bone_age_sd_months(chronological_age_months, sex))
    sds = difference / sd
    category = _band(sds)
    reason = f"SDS {sds:+.2f} against a limit of ±{SDS_LIMIT:g}"
    sds_interval = None
    if interval_months is not None:
        low, high = interval_months
        sds_interval = (
            round((low - chronological_age_months) / sd, 2),
            round((high - chronological_age_months) / sd, 2),
        )
        ends = (
            _band((low - chronological_age_months) / sd),
            _band((high - chronological_age_months) / sd),
        )
        if ends[0] != ends[1]:
            category = "not determined"
            reason = (
                f"the 90 % interval ({low:.0f}-{high:.0f} months) reaches from {ends[0]} to "
                f"{ends[1]}, so the estimate cannot tell which"
            )
        else:
            reason = f"the whole 90 % interval ({low:.0f}-{high:.0f} months) is {category}"
    return ChronologicalComparison(
        age_months=chronological_age_months,
        difference_months=round(difference, 1),
        sds=round(sds, 2),
        category=category,
        category_reason=reason,
        sds_interval=sds_interval,
    )

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
atlas; inside is "within normal".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

Sex = Literal["F", "M"]

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
    category: Literal["delayed", "within normal", "advanced"]
    sd_source: str = "Greulich & Pyle 1959"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(
    bone_age_months: float, chronological_age_months: float, sex: Sex
) -> ChronologicalComparison:
    """Difference (bone minus chronological age), SDS and category."""
    difference = bone_age_months - chronological_age_months
    sds = difference / float(bone_age_sd_months(chronological_age_months, sex))
    if sds < -SDS_LIMIT:
        category = "delayed"
    elif sds > SDS_LIMIT:
        category = "advanced"
    else:
        category = "within normal"
    return ChronologicalComparison(
        age_months=chronological_age_months,
        difference_months=round(difference, 1),
        sds=round(sds, 2),
        category=category,
    )

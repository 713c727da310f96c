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
atlas; inside is "within normal". An estimate with an interval is read as a distribution: its
calibrated 90 % interval gives a normal distribution of the bone age (the interval's wider half
is 1.645 SD, so an interval cut at birth keeps its spread), and the reading gives the probability
of each band (:class:`BandOdds`, "delayed: 71 % likely"). A band is named only when it reaches
:data:`NAMED_AT` (90 %); below that the category is "not determined" and the probabilities say
what the estimate can tell. Naming a band only when the whole interval lay in it, as before,
named almost none: a ±20-month interval nearly always crosses a ±2 SD limit.

The SDS is shown clipped at ±:data:`SDS_SHOWN_LIMIT`: the table's SDs are a few months below
2 years, far narrower than an estimate's error there, so an SDS of +10 is arithmetic that no
reference supports. Where the chronological age lies outside the table (3 months to 17 years),
the nearest tabulated SD is used, and the comparison says both in ``sds_note``.
"""

from __future__ import annotations

import math
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

NAMED_AT = 0.9
"""The probability a band must reach for the reading to name it."""

SDS_SHOWN_LIMIT = 5.0
"""SDS values (and their interval's ends) beyond this are shown at it, and said to be clipped."""

Z_90 = 1.6449
"""The standard normal quantile of a two-sided 90 % interval."""

_TABLE_RANGE = (float(_AGES_MONTHS[0]), float(_AGES_MONTHS[-1]))


def bone_age_sd_months(chronological_age_months: float | np.ndarray, sex: Sex) -> np.ndarray:
    """SD of skeletal age (months) in healthy children of this chronological age and sex."""
    return np.interp(chronological_age_months, _AGES_MONTHS, _SD_MONTHS[sex])


@dataclass(frozen=True)
class BandOdds:
    """The probability that the bone age lies below, within or beyond ±2 SD of the
    chronological age, from the estimate's calibrated distribution (the three sum to 1)."""

    delayed: float
    within_normal: float
    advanced: float

    def by_category(self) -> dict[Category, float]:
        return {
            "delayed": self.delayed,
            "within normal": self.within_normal,
            "advanced": self.advanced,
        }

    def words(self) -> str:
        """ "delayed 71 % likely, within normal 29 %, advanced < 1 %"."""
        parts = [
            f"{category} {_percent(p)}{' likely' if i == 0 else ''}"
            for i, (category, p) in enumerate(
                sorted(self.by_category().items(), key=lambda item: -item[1])
            )
        ]
        return ", ".join(parts)


def _percent(p: float) -> str:
    if p < 0.005:
        return "< 1 %"
    if p > 0.995:
        return "> 99 %"
    return f"{p:.0%}".replace("%", " %")


def _normal_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def band_odds(
    bone_age_months: float, sd_months: float, chronological_age_months: float, sex: Sex
) -> BandOdds:
    """The odds of each band for a bone age distributed normally (mean, ``sd_months``)."""
    limit = SDS_LIMIT * float(bone_age_sd_months(chronological_age_months, sex))
    low, high = chronological_age_months - limit, chronological_age_months + limit
    if sd_months <= 0:
        category = _band((bone_age_months - chronological_age_months) / (limit / SDS_LIMIT))
        return BandOdds(
            float(category == "delayed"),
            float(category == "within normal"),
            float(category == "advanced"),
        )
    delayed = _normal_cdf((low - bone_age_months) / sd_months)
    advanced = 1.0 - _normal_cdf((high - bone_age_months) / sd_months)
    return BandOdds(
        round(delayed, 4), round(max(0.0, 1.0 - delayed - advanced), 4), round(advanced, 4)
    )


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
    odds: BandOdds | None = None
    """The probability of each band, when the estimate has an interval."""
    sds_note: str | None = None
    """Why the SDS shown is clipped, or rests on a held SD, in words."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _band(sds: float) -> Category:
    if sds < -SDS_LIMIT:
        return "delayed"
    if sds > SDS_LIMIT:
        return "advanced"
    return "within normal"


def _clip(sds: float) -> float:
    return round(max(-SDS_SHOWN_LIMIT, min(SDS_SHOWN_LIMIT, sds)), 2)


def _sds_note(chronological_age_months: float, clipped: bool) -> str | None:
    notes = []
    if clipped:
        notes.append(
            f"SDS beyond ±{SDS_SHOWN_LIMIT:g} are shown as ±{SDS_SHOWN_LIMIT:g}: the table's SDs, "
            "measured on healthy children, support no finer figure that far out"
        )
    low, high = _TABLE_RANGE
    if not low <= chronological_age_months <= high:
        notes.append(
            f"the SD table covers chronological ages {low:.0f} to {high:.0f} months; the SD of "
            f"the nearest tabulated age ({low if chronological_age_months < low else high:.0f} "
            "months) was used"
        )
    return "; ".join(notes) or None


def compare(
    bone_age_months: float,
    chronological_age_months: float,
    sex: Sex,
    interval_months: tuple[float, float] | None = None,
) -> ChronologicalComparison:
    """Difference (bone minus chronological age), SDS and category.

    With ``interval_months`` (the estimate's calibrated 90 % interval) the estimate is read as
    a normal distribution whose SD is the interval's wider half over 1.645, and a band is named
    only when its probability reaches :data:`NAMED_AT`; without one, the point's band is named."""
    difference = bone_age_months - chronological_age_months
    sd = float(bone_age_sd_months(chronological_age_months, sex))
    sds = difference / sd
    category: Category = _band(sds)
    reason = f"SDS {sds:+.2f} against a limit of ±{SDS_LIMIT:g}"
    sds_interval, odds = None, None
    ends = [sds]
    if interval_months is not None:
        low, high = interval_months
        ends += [(low - chronological_age_months) / sd, (high - chronological_age_months) / sd]
        sds_interval = (_clip(ends[1]), _clip(ends[2]))
        spread = max(high - bone_age_months, bone_age_months - low) / Z_90
        odds = band_odds(bone_age_months, spread, chronological_age_months, sex)
        best, p = max(odds.by_category().items(), key=lambda item: item[1])
        if p >= NAMED_AT:
            category = best
            reason = f"{odds.words()}, from the 90 % interval {low:.0f}-{high:.0f} months"
        else:
            category = "not determined"
            reason = (
                f"{odds.words()}: no reading reaches {NAMED_AT * 100:.0f} % (90 % interval "
                f"{low:.0f}-{high:.0f} months)"
            )
    clipped = any(abs(end) > SDS_SHOWN_LIMIT for end in ends)
    return ChronologicalComparison(
        age_months=chronological_age_months,
        difference_months=round(difference, 1),
        sds=_clip(sds),
        category=category,
        category_reason=reason,
        sds_interval=sds_interval,
        odds=odds,
        sds_note=_sds_note(chronological_age_months, clipped),
    )

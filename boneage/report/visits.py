"""A child's bone age across visits: each visit's estimates, the bone-age velocity between
visits, and one chart of all of them against chronological age.

Growth disorders are followed this way: in precocious puberty or growth-hormone therapy the
question is less how old the bones look than how fast they mature. One bone-age year per
calendar year is the normal tempo; treatment aims to slow an advanced one. A velocity is read
from two estimates that each carry an error of months, over an interval of often only a year, so
it is only useful with its own uncertainty: :func:`velocities` gives each one with a 90 %
interval carried through from the two estimates' intervals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from boneage.report.chart import draw_normal_band, finish_png, new_figure
from boneage.report.chronological import Z_90

PATHS: Mapping[str, tuple[str, str, str]] = {
    "multistep": ("multi-step", "#1f6fb2", "o"),
    "endtoend": ("end-to-end", "#c2571a", "s"),
}
"""Each path's words, colour and marker, as the single report's chart draws them."""


@dataclass(frozen=True)
class VisitEstimate:
    """One path's bone age at one visit, with its 90 % interval (months)."""

    age_months: float
    interval_months: tuple[float, float]


@dataclass(frozen=True)
class Visit:
    """One study of the child: its chronological age (None when not known), the estimates of
    the paths that gave one, and the bone age signed by the radiologist (None before)."""

    label: str
    chronological_age_months: float | None
    estimates: Mapping[str, VisitEstimate]
    signed_months: float | None = None


@dataclass(frozen=True)
class Velocity:
    """Bone-age years per calendar year between two visits, read from one source: a path's
    estimates (with a 90 % interval) or the signed bone ages (``interval`` None: a signature
    carries no uncertainty of its own)."""

    source: str
    start: str
    end: str
    years_per_year: float
    interval: tuple[float, float] | None


def velocities(visits: Sequence[Visit]) -> list[Velocity]:
    """The velocity between each pair of consecutive visits (in the order given) that both
    have a chronological age, the later one older: per path where both visits have its
    estimate, and for the signed bone ages where both are signed.

    The interval treats each estimate's 90 % interval as a normal one (half-width = 1.645 SD)
    and the two visits' errors as independent, so it is approximate where an interval is
    skewed; it is wide over a short span between visits, as it should be.
    """
    dated = _dated(visits)
    found: list[Velocity] = []
    for (start_age, start), (end_age, end) in zip(dated, dated[1:], strict=False):
        span_months = end_age - start_age
        if span_months <= 0:
            continue
        for path, (words, _, _) in PATHS.items():
            first, second = start.estimates.get(path), end.estimates.get(path)
            if first is None or second is None:
                continue
            rate = (second.age_months - first.age_months) / span_months
            spread = math.hypot(_sd(first), _sd(second)) / span_months
            found.append(
                Velocity(
                    words,
                    start.label,
                    end.label,
                    rate,
                    (rate - Z_90 * spread, rate + Z_90 * spread),
                )
            )
        if start.signed_months is not None and end.signed_months is not None:
            rate = (end.signed_months - start.signed_months) / span_months
            found.append(Velocity("signed", start.label, end.label, rate, None))
    return found


def _dated(visits: Sequence[Visit]) -> list[tuple[float, Visit]]:
    """The visits with a chronological age, each with it (months)."""
    return [
        (visit.chronological_age_months, visit)
        for visit in visits
        if visit.chronological_age_months is not None
    ]


def _sd(estimate: VisitEstimate) -> float:
    low, high = estimate.interval_months
    return (high - low) / (2 * Z_90)


def render_visits_chart(visits: Sequence[Visit], sex: str, *, dpi: int = 110) -> bytes:
    """PNG bytes: every visit with a chronological age, each path's estimate with its interval
    and the signed bone age, over the normal band (±2 SD) for ``sex``."""
    dated = [(age / 12, visit) for age, visit in _dated(visits)]
    figure, axes = new_figure(5.6, dpi=dpi)
    oldest = max([18.0, *(age + 1 for age, _ in dated)])
    draw_normal_band(axes, sex, oldest_years=oldest)
    for offset, (path, (words, color, marker)) in enumerate(PATHS.items()):
        points = [(age, visit.estimates[path]) for age, visit in dated if path in visit.estimates]
        if not points:
            continue
        x = np.array([age for age, _ in points]) + (offset - 0.5) * 0.12
        y = np.array([estimate.age_months / 12 for _, estimate in points])
        low = y - np.array([estimate.interval_months[0] / 12 for _, estimate in points])
        high = np.array([estimate.interval_months[1] / 12 for _, estimate in points]) - y
        axes.errorbar(x, y, yerr=[low, high], fmt=f"{marker}-", color=color, capsize=3, label=words)
    signed = [
        (age, visit.signed_months / 12) for age, visit in dated if visit.signed_months is not None
    ]
    if signed:
        axes.plot(
            [age for age, _ in signed],
            [value for _, value in signed],
            "k*",
            markersize=10,
            label="signed",
        )
    axes.set(
        xlim=(0, oldest),
        ylim=(0, oldest + 1),
        xlabel="chronological age (years)",
        ylabel="bone age (years)",
    )
    axes.set_title(
        f"Bone age across {len(dated)} visits — {'girls' if sex == 'F' else 'boys'}", fontsize=10
    )
    return finish_png(figure, axes)

"""The report chart: bone age against chronological age, with the normal band.

Drawn from the assessment record alone (:mod:`boneage.contract`), so that the web app, the API
and a notebook all draw the same picture from a stored report. The band is ±2 SD of skeletal age
(:mod:`boneage.report.chronological`) around bone age = chronological age.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from boneage.contract import AssessmentRecord  # noqa: E402
from boneage.report.chronological import SDS_LIMIT, bone_age_sd_months  # noqa: E402

_METHODS = (("multistep", "Multi-step", "#1f6fb2", "o"), ("endtoend", "End-to-end", "#c2571a", "s"))


def new_figure(width_inches: float, *, dpi: int) -> tuple[Figure, Axes]:
    """A figure of a report's charts (4.2 inches high), on the Agg backend set above."""
    return plt.subplots(figsize=(width_inches, 4.2), dpi=dpi)


def draw_normal_band(axes: Axes, sex: str, *, oldest_years: float = 18.0) -> None:
    """The normal band (±2 SD of skeletal age for ``sex``) and the line bone age = age."""
    years = np.linspace(0, oldest_years, 200)
    band = SDS_LIMIT * bone_age_sd_months(years * 12, sex) / 12
    axes.fill_between(years, years - band, years + band, color="#d9e6f2", label="normal (±2 SD)")
    axes.plot(years, years, color="#6b7b8c", linewidth=1, label="bone age = age")


def finish_png(figure: Figure, axes: Axes) -> bytes:
    """Grid, legend and layout as every chart of a report has them; the PNG bytes; the figure
    closed (matplotlib keeps every open figure alive)."""
    axes.grid(color="#eeeeee")
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def render_chart(assessment: AssessmentRecord, *, dpi: int = 110) -> bytes:
    """PNG bytes of the chart for one assessment."""
    sex = assessment.input.sex
    chronological = assessment.chronological
    figure, axes = new_figure(5.2, dpi=dpi)
    draw_normal_band(axes, sex)
    estimates = assessment.estimates()
    answered = [
        (estimates[key], label, color, marker)
        for key, label, color, marker in _METHODS
        if estimates[key].answered
    ]
    for offset, (estimate, label, color, marker) in enumerate(answered):
        low, high = (value / 12 for value in estimate.interval_months)
        age = estimate.age_months / 12
        if chronological:
            x = chronological.age_months / 12 + (offset - 0.5) * 0.15
            axes.errorbar(
                x,
                age,
                yerr=[[age - low], [high - age]],
                fmt=marker,
                color=color,
                capsize=4,
                label=f"{label} {age:.1f} y",
            )
        else:
            axes.axhspan(low, high, color=color, alpha=0.15)
            axes.axhline(age, color=color, linewidth=1.5, label=f"{label} {age:.1f} y")
    axes.set(
        xlim=(0, 18), ylim=(0, 19), xlabel="chronological age (years)", ylabel="bone age (years)"
    )
    title = (
        "Bone age vs chronological age"
        if chronological
        else ("Bone age (chronological age not given)")
    )
    axes.set_title(f"{title} — {'girls' if sex == 'F' else 'boys'}", fontsize=10)
    return finish_png(figure, axes)

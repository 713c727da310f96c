"""The age bands in which accuracy is measured and quoted: 0-2, 2-6, 6-10, 10-14, 14+ years.

Errors grow with age (a 15-year-old's bone age is read on a wider scale than an infant's), so a
single MAE misleads at both ends; evaluations report each band, cards store each band's MAE under
:func:`metric_key`, and a note quotes the band of the estimate it stands beside.
"""

from __future__ import annotations

import numpy as np

AGE_BANDS_YEARS: tuple[tuple[float, float], ...] = ((0, 2), (2, 6), (6, 10), (10, 14), (14, 99))


def band_name(low: float, high: float) -> str:
    """``"6-10 y"``, or ``"14+ y"`` for the open last band."""
    return f"{low:g}+ y" if high >= 99 else f"{low:g}-{high:g} y"


def band_of(age_months: float) -> str:
    """The name of the band an age in months falls in."""
    years = age_months / 12
    for low, high in AGE_BANDS_YEARS:
        if years < high:
            return band_name(low, high)
    return band_name(*AGE_BANDS_YEARS[-1])


def metric_key(band: str) -> str:
    """Where a card's metrics keep the MAE of one band."""
    return f"mae/{band}"


def band_errors(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAE (months) in each age band of the truth that has cases, keyed by :func:`band_name`."""
    result: dict[str, float] = {}
    for low, high in AGE_BANDS_YEARS:
        inside = (truth >= 12 * low) & (truth < 12 * high)
        if inside.any():
            result[band_name(low, high)] = float(np.mean(np.abs(truth[inside] - predicted[inside])))
    return result

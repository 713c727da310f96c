"""Split-conformal calibration of prediction intervals, shared by both estimators.

The end-to-end CNN scales its predicted SD (:mod:`boneage.phantom.regress_train`), the multi-step
path the
half-widths of its reference-table interval (:mod:`boneage.training.reference.fit`); both pick the
multiplier on cases never trained on, so the stated coverage is measured, not assumed.
"""

from __future__ import annotations

import numpy as np


def conformal_scale(residuals_months: np.ndarray, sd_months: np.ndarray, coverage: float) -> float:
    """Split-conformal multiplier of the predicted sd (Romano et al. 2019, normalised scores).

    The score of each calibration case is ``|y - mean| / sd``; the multiplier is its
    ``ceil((n + 1) · coverage) / n`` empirical quantile, which guarantees at least ``coverage``
    marginal coverage on exchangeable new cases (Vovk et al. 2005; Lei et al. 2018).
    """
    scores = np.abs(np.asarray(residuals_months)) / np.asarray(sd_months)
    n = len(scores)
    if n == 0:
        raise ValueError("calibration needs at least one case")
    level = min(1.0, np.ceil((n + 1) * coverage) / n)
    return float(np.quantile(scores, level, method="higher"))

"""One combined estimate from the two paths, when they agree.

The two paths err in partly different ways (a landmark that lands on the wrong joint moves the
multi-step answer, an unusual exposure the CNN's), so a weighted mean of the two is closer to
the truth than either. The weights follow each estimate's own uncertainty (the half-width of its
calibrated 90 % interval), with the multi-step path's precision multiplied by a factor fitted on
the calibration slice of ``train``; the combined interval is split-conformal on the other half of
that slice, so its 90 % is measured, not assumed. Fitting: :mod:`boneage.training.combined`.

When the two paths disagree beyond their combined uncertainty (the study is flagged), or only
one answered, there is no combined estimate, and it says why.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from boneage.contract import AgreementRecord, CombinedEstimate, Estimate
from boneage.errors import ModelUnavailable

Z_90 = 1.645
"""A 90 % interval's half-width in standard deviations of a normal error."""


@dataclass(frozen=True)
class Combination:
    """The fitted rule: ``multistep_weight`` multiplies the multi-step estimate's precision
    (1/sd²) against the end-to-end estimate's, and ``interval_scale`` the combined sd to the
    90 % interval's half-width."""

    multistep_weight: float
    interval_scale: float

    def rule(self) -> str:
        """The rule in words, for the report and the API."""
        return (
            "inverse-variance weighted mean of the two estimates (each sd from its calibrated "
            f"90 % interval; the multi-step precision weighted × {self.multistep_weight:.2f}, "
            f"fitted on the calibration slice of train), interval ± {self.interval_scale:.2f} "
            "combined sd, split-conformal"
        )

    def combine(
        self, multistep: Estimate, endtoend: Estimate, agreement: AgreementRecord
    ) -> CombinedEstimate:
        """The combined estimate, or why there is none."""
        if not (multistep.answered and endtoend.answered):
            return CombinedEstimate(
                rejected="Only one path gave an estimate, so there is nothing to combine."
            )
        if agreement.agree is False:
            return CombinedEstimate(
                rejected=(
                    f"The two paths differ by {abs(agreement.difference_months or 0):.0f} months, "
                    f"more than their combined uncertainty allows ({agreement.limit_months:.0f}): "
                    "no combined estimate; read both, and the study is flagged for review."
                )
            )
        age, low, high = self.interval(
            (float(multistep.age_months), *multistep.interval_months),
            (float(endtoend.age_months), *endtoend.interval_months),
        )
        return CombinedEstimate(
            age_months=round(age, 1),
            interval_months=(round(low, 1), round(high, 1)),
            rule=self.rule(),
        )

    def interval(
        self, multistep: tuple[float, float, float], endtoend: tuple[float, float, float]
    ) -> tuple[float, float, float]:
        """(age, low, high) of the combination of two ``(age, low, high)`` estimates; the
        interval is held at 0 or above (a bone age is never negative)."""
        precision_m = self.multistep_weight / _sd(multistep) ** 2
        precision_e = 1.0 / _sd(endtoend) ** 2
        total = precision_m + precision_e
        age = (precision_m * multistep[0] + precision_e * endtoend[0]) / total
        half = self.interval_scale / math.sqrt(total)
        return max(0.0, age), max(0.0, age - half), max(0.0, age + half)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Combination:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as error:
            raise ModelUnavailable(
                f"The combination rule {path} cannot be read: {error}"
            ) from error


def _sd(estimate: tuple[float, float, float]) -> float:
    """The sd of a ``(age, low, high)`` estimate from its 90 % interval (at least 0.5 month)."""
    _, low, high = estimate
    return max(0.5, (high - low) / (2 * Z_90))

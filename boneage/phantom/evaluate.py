"""Held-out evaluation of the multi-step path (U-Net → measurements → reference table).

A case is a preprocessed left-hand image with its true age, sex and, where known, the pixel
spacing of the preprocessed image. :func:`evaluate_multistep` runs :func:`run_multistep` on each
case and reports the mean absolute error (months) and the share of true ages inside the 90 %
interval over the cases that got an estimate, and, separately, how many were rejected: a rejected
study has no estimate, so counting it as zero error (or dropping it silently) would flatter the
method.

Spacing mode: ``"ratios"`` (the default) passes no spacing, so bone lengths are compared to the
third metacarpal; this is the mode to compare methods on, because PNG datasets such as RSNA carry
no spacing. ``"absolute_mm"`` passes each case's spacing (phantoms have one) and uses lengths in
millimetres where the table has them. The mode is part of the result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from boneage.multistep.table import ReferenceTable, SpacingMode
from boneage.phantom import generate_phantom
from boneage.phantom.crop import INPUT_SIZE, preprocess
from boneage.phantom.multistep import MultistepRejection, run_multistep
from boneage.phantom.segment_train import PHANTOM_SIZE


@dataclass(frozen=True)
class LabelledImage:
    """One preprocessed left hand (float32 (S, S), 0..1) with its truth; ``spacing_mm`` is the
    pixel spacing of the preprocessed image, None when the source had none."""

    image: np.ndarray
    sex: str
    age_months: float
    spacing_mm: float | None


@dataclass(frozen=True)
class MultistepEvaluation:
    """Accuracy of the multi-step path on ``n_cases`` held-out cases.

    ``mae_months`` and ``coverage_90`` are over the ``n_cases - n_rejected`` estimated cases (NaN
    when every case was rejected)."""

    mae_months: float
    coverage_90: float
    n_cases: int
    n_rejected: int
    spacing_mode: SpacingMode

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def phantom_case(seed: int) -> LabelledImage:
    """The phantom of ``seed`` preprocessed as at inference: a right hand is mirrored to a left
    one first, as :mod:`boneage.quality.orientation` does."""
    phantom = generate_phantom(seed, size=PHANTOM_SIZE)
    pixels = phantom.image[:, ::-1] if phantom.laterality == "R" else phantom.image
    prepared = preprocess(np.ascontiguousarray(pixels), size=INPUT_SIZE)
    return LabelledImage(
        image=prepared.image,
        sex=phantom.sex,
        age_months=float(phantom.age_months),
        spacing_mm=prepared.spacing_mm(phantom.spacing_mm),
    )


def rsna_cases(directory: Path) -> list[LabelledImage]:
    """Every case of an RSNA-layout dataset (see :mod:`boneage.training.common.datasets`),
    preprocessed; PNGs carry no spacing, so only the ``"ratios"`` mode applies."""
    from boneage.training.common.datasets import RsnaDataset

    return [
        LabelledImage(
            image=preprocess(case.pixels, size=INPUT_SIZE).image,
            sex=case.sex,
            age_months=float(case.age_months),
            spacing_mm=None,
        )
        for case in RsnaDataset(directory)
    ]


def evaluate_multistep(
    cases: Iterable[LabelledImage],
    *,
    model: nn.Module,
    reference: ReferenceTable,
    spacing_mode: SpacingMode = "ratios",
) -> MultistepEvaluation:
    """MAE, 90 % coverage and rejections of the multi-step path on ``cases``.

    A case counts as rejected when :func:`run_multistep` rejects it or when the table holds none
    of its measured features (``estimate_age`` raises ``ValueError``, as a table fitted on very
    few hands can)."""
    errors: list[float] = []
    inside: list[bool] = []
    n_cases = n_rejected = 0
    for case in cases:
        n_cases += 1
        spacing = case.spacing_mm if spacing_mode == "absolute_mm" else None
        try:
            result = run_multistep(
                case.image, spacing_mm=spacing, sex=case.sex, model=model, reference=reference
            )
        except ValueError:
            n_rejected += 1
            continue
        if isinstance(result, MultistepRejection):
            n_rejected += 1
            continue
        low, high = result.interval_months
        errors.append(abs(result.age_months - case.age_months))
        inside.append(low <= case.age_months <= high)
    return MultistepEvaluation(
        mae_months=float(np.mean(errors)) if errors else float("nan"),
        coverage_90=float(np.mean(inside)) if inside else float("nan"),
        n_cases=n_cases,
        n_rejected=n_rejected,
        spacing_mode=spacing_mode,
    )

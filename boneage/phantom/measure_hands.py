"""Phantom hands measured for a reference table: on their true label masks or on the phantom
U-Net's segmentation, as the phantom-era multi-step path measures them.

The statistics fitter (:mod:`boneage.training.reference.fit`) takes these
:class:`~boneage.training.reference.fit.Sample` objects as it takes the real hands the landmark
U-Net measured.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from torch import nn

from boneage.phantom import generate_phantom
from boneage.phantom.crop import INPUT_SIZE, crop_labels, preprocess
from boneage.phantom.evaluate import LabelledImage
from boneage.phantom.measure import measure_bones
from boneage.phantom.multistep import rejection_reason
from boneage.phantom.segment import segment
from boneage.training.reference.fit import Sample


def measure_phantom(seed: int, *, size: int = INPUT_SIZE, model: nn.Module | None = None) -> Sample:
    """The phantom of ``seed`` preprocessed exactly as at inference and measured on its true
    label mask (cut like the image) or, given ``model``, on the U-Net's segmentation, with the
    spacing of the preprocessed image."""
    phantom = generate_phantom(seed)
    prepared = preprocess(phantom.image, size=size)
    labels = (
        crop_labels(phantom.labels, prepared) if model is None else segment(model, prepared.image)
    )
    measurements = measure_bones(labels, prepared.spacing_mm(phantom.spacing_mm))
    return Sample(measurements, phantom.age_months, phantom.sex)


def measure_case(case: LabelledImage, model: nn.Module) -> Sample:
    """A preprocessed labelled image measured on ``model``'s segmentation, exactly as
    :func:`boneage.phantom.multistep.run_multistep` measures at inference (with the case's spacing,
    if any)."""
    measurements = measure_bones(segment(model, case.image), case.spacing_mm)
    return Sample(measurements, case.age_months, case.sex)


@dataclass(frozen=True)
class MeasuredCases:
    """The measurable hands of a set of cases, and how many were not: those the multi-step
    estimate would reject (:func:`boneage.phantom.multistep.rejection_reason`)."""

    samples: list[Sample]
    n_unmeasurable: int


def measure_cases(cases: Iterable[LabelledImage], model: nn.Module) -> MeasuredCases:
    """Every case measured on ``model``'s segmentation (:func:`measure_case`), the unmeasurable
    ones counted rather than kept: one failed segmentation must not sink a fit of many hands."""
    samples: list[Sample] = []
    unmeasurable = 0
    for case in cases:
        sample = measure_case(case, model)
        mode = "ratios" if sample.measurements.spacing_mm is None else "absolute_mm"
        if rejection_reason(sample.measurements, mode) is None:
            samples.append(sample)
        else:
            unmeasurable += 1
    return MeasuredCases(samples, unmeasurable)

"""The phantom era's default reference table, built from the published anatomy of
:mod:`boneage.phantom.anatomy` (reference lengths, appearance and fusion timing).

It reads the bone-segmentation measurements of :mod:`boneage.phantom.measure`; the phantom
learning curve and the tests use it. The shipped table is fitted on real films.
"""

from __future__ import annotations

from datetime import date

import numpy as np

import boneage
from boneage.multistep.table import AGE_GRID_MONTHS, Curve, ReferenceTable, SexReference
from boneage.phantom import anatomy
from boneage.phantom.measure import RATIO_BASE, UNMEASURED_LENGTHS
from boneage.training.reference.fit import DEFAULT_TEMPERATURE

RATIO_CV = 0.035
"""Default coefficient of variation of a length ratio within one hand. Assumed: with the shared
size factor cancelled, the bone-specific scatter of about a third of the 6.5 % length CV of
:mod:`boneage.phantom.anatomy`, times sqrt(2) for the two bones of a ratio."""


def default_reference(ages_months: np.ndarray = AGE_GRID_MONTHS) -> ReferenceTable:
    """The table implied by :mod:`boneage.phantom.anatomy`: its length curves (absolute and
    relative to ``metacarpal_3`` with :data:`RATIO_CV`), appearance and fusion probabilities. No
    relative-size curves: the anatomy module has no published source for them; a fitted table adds
    them."""
    sexes = {}
    for sex in ("F", "M"):
        continuous: dict[str, Curve] = {}
        lengths = {
            bone: np.array([anatomy.bone_length_mm(bone, a, sex) for a in ages_months]).T
            for bone in anatomy.LENGTH_BONES
        }
        for bone, (mean, sd) in lengths.items():
            if bone in UNMEASURED_LENGTHS:
                continue
            continuous[f"length_mm:{bone}"] = Curve(mean, sd)
            if bone != RATIO_BASE:
                ratio = mean / lengths[RATIO_BASE][0]
                continuous[f"length_ratio:{bone}"] = Curve(ratio, RATIO_CV * ratio)
        binary = {
            f"present:{centre}": np.array(
                [anatomy.ossification_probability(centre, a, sex) for a in ages_months]
            )
            for centre in anatomy.OSSIFICATION_CENTRES
        }
        for epiphysis in anatomy.EPIPHYSES:
            binary[f"fused:{epiphysis.name}"] = np.array(
                [anatomy.physis_fused_probability(epiphysis.name, a, sex) for a in ages_months]
            )
        sexes[sex] = SexReference(continuous, binary)
    provenance = {
        "source": "boneage.phantom.anatomy (Garn et al. 1972, Maresh 1955, CDC 2000 stature, "
        "Greulich & Pyle 1959, Gilsanz & Ratib 2005, Garn et al. 1967)",
        "size": None,
        "date": date.today().isoformat(),
        "code_version": boneage.__version__,
    }
    return ReferenceTable(
        "reference-default",
        "1.0.0",
        np.asarray(ages_months, float),
        sexes,
        temperature=DEFAULT_TEMPERATURE,
        provenance=provenance,
    )

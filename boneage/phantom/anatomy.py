"""The bones of the hand and wrist that the engine models, with stable label ids.

Label ids are part of every mask on disk and every trained U-Net: never renumber them, only
append. 0 is background. Rays are numbered 1 (thumb) to 5 (little finger). An epiphysis is its
own label, with ``parent`` naming the bone it fuses to, so that ossification-centre presence and
physis fusion can be read from a mask.

The module also holds the maturity and growth reference, by sex (``sex`` is "F" or "M"):

- :func:`appearance_age_months` / :func:`ossification_probability`: when each carpal and
  epiphysis first shows (normal model, mean and SD in months);
- :func:`fusion_age_months` / :func:`physis_fused_probability`: when each long bone's physis has
  fused;
- :func:`bone_length_mm` (mean, SD) of each long bone by age, :func:`adult_length_mm`,
  :func:`growth_fraction`.

Sources: Greulich & Pyle, *Radiographic Atlas of Skeletal Development of the Hand and Wrist*, 2nd
ed., Stanford 1959; Gilsanz & Ratib, *Hand Bone Age*, Springer 2005; Garn, Rohmann & Silverman,
Med Radiogr Photogr 43:45, 1967 (ossification onset); Garn, Hertzog, Poznanski & Nagy, Radiology
105:375, 1972 (lengths of the 19 tubular hand bones); Maresh, Am J Dis Child 89:725, 1955
(radius/ulna); CDC 2000 growth charts (stature medians). What is approximated: the appearance and
fusion ages are the rounded figures these sources are commonly quoted with, not cell-by-cell
transcriptions (the tables were not at hand); the months between the quoted anchors are
interpolated along the published order of fusion; bone lengths by age are a smooth growth model
(adult length times stature fraction), not the Garn/Maresh age tables. Each table says which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

BoneKind = Literal["long", "carpal", "epiphysis"]


@dataclass(frozen=True)
class Bone:
    """One modelled bone or ossification centre."""

    label: int
    name: str
    kind: BoneKind
    ray: int | None = None
    parent: str | None = None


def _long_bones() -> list[Bone]:
    bones = [Bone(1, "radius", "long"), Bone(2, "ulna", "long")]
    bones += [Bone(2 + ray, f"metacarpal_{ray}", "long", ray) for ray in range(1, 6)]
    bones += [Bone(7 + ray, f"proximal_phalanx_{ray}", "long", ray) for ray in range(1, 6)]
    bones += [Bone(11 + ray, f"middle_phalanx_{ray}", "long", ray) for ray in range(2, 6)]
    bones += [Bone(16 + ray, f"distal_phalanx_{ray}", "long", ray) for ray in range(1, 6)]
    return bones


CARPAL_NAMES = (
    "capitate",
    "hamate",
    "triquetrum",
    "lunate",
    "scaphoid",
    "trapezium",
    "trapezoid",
    "pisiform",
)


def _epiphyses(long_bones: list[Bone]) -> list[Bone]:
    return [
        Bone(30 + index, f"{bone.name}_epiphysis", "epiphysis", bone.ray, bone.name)
        for index, bone in enumerate(long_bones)
    ]


LONG_BONES: tuple[Bone, ...] = tuple(_long_bones())
CARPALS: tuple[Bone, ...] = tuple(
    Bone(22 + i, name, "carpal") for i, name in enumerate(CARPAL_NAMES)
)
EPIPHYSES: tuple[Bone, ...] = tuple(_epiphyses(list(LONG_BONES)))
BONES: tuple[Bone, ...] = LONG_BONES + CARPALS + EPIPHYSES
BY_NAME: dict[str, Bone] = {bone.name: bone for bone in BONES}
BY_LABEL: dict[int, Bone] = {bone.label: bone for bone in BONES}
NUM_CLASSES: int = len(BONES) + 1
"""Classes of the segmentation: every modelled bone plus background (label 0)."""


# ---------------------------------------------------------------------------------------------
# Maturity reference: when each ossification centre appears and each physis fuses, by sex.
# ---------------------------------------------------------------------------------------------

_APPEARANCE_MONTHS: dict[str, tuple[float, float]] = {
    # centre: (girls, boys) mean age at first radiographic appearance, months.
    # Carpals: Greulich & Pyle 1959 (atlas plates and text) and Gilsanz & Ratib 2005 ("Hand Bone
    # Age", ch. 2 table of ossification timing); the commonly quoted round figures: capitate and
    # hamate in the first months, triquetrum 2-3 y, lunate 3-4 y, trapezium/trapezoid/scaphoid
    # 4-6 y, pisiform 8-12 y, girls about a year earlier from age 3 on.
    "capitate": (2.0, 3.0),
    "hamate": (3.0, 4.5),
    "triquetrum": (26.0, 36.0),
    "lunate": (38.0, 50.0),
    "trapezium": (52.0, 66.0),
    "trapezoid": (54.0, 70.0),
    "scaphoid": (56.0, 68.0),
    "pisiform": (102.0, 132.0),
    # Epiphyses: Garn, Rohmann & Silverman 1967 (Med Radiogr Photogr 43:45, onset percentiles of
    # the Fels sample) as summarised by Gilsanz & Ratib 2005: distal radius ~1 y F / ~1.5 y M,
    # distal ulna ~6 y F / ~7 y M; the phalangeal and metacarpal epiphyses between ~10 and ~36
    # months, proximal phalanges first, fifth middle phalanx last, boys about 50 % later.
    "radius_epiphysis": (10.0, 15.0),
    "ulna_epiphysis": (70.0, 84.0),
    "metacarpal_1_epiphysis": (18.0, 28.0),
    "metacarpal_2_epiphysis": (12.0, 18.0),
    "metacarpal_3_epiphysis": (13.0, 20.0),
    "metacarpal_4_epiphysis": (15.0, 22.0),
    "metacarpal_5_epiphysis": (17.0, 26.0),
    "proximal_phalanx_1_epiphysis": (16.0, 24.0),
    "proximal_phalanx_2_epiphysis": (11.0, 16.0),
    "proximal_phalanx_3_epiphysis": (10.0, 15.0),
    "proximal_phalanx_4_epiphysis": (11.0, 16.0),
    "proximal_phalanx_5_epiphysis": (14.0, 20.0),
    "middle_phalanx_2_epiphysis": (18.0, 27.0),
    "middle_phalanx_3_epiphysis": (16.0, 24.0),
    "middle_phalanx_4_epiphysis": (17.0, 25.0),
    "middle_phalanx_5_epiphysis": (24.0, 36.0),
    "distal_phalanx_1_epiphysis": (12.0, 18.0),
    "distal_phalanx_2_epiphysis": (22.0, 30.0),
    "distal_phalanx_3_epiphysis": (20.0, 28.0),
    "distal_phalanx_4_epiphysis": (20.0, 28.0),
    "distal_phalanx_5_epiphysis": (24.0, 34.0),
}
"""Mean age at appearance (months) as (girls, boys). Rounded figures read from the sources named
above, not transcribed cell by cell; treat them as a reference of the right shape, not as a
validated table."""

_FUSION_MONTHS: dict[str, tuple[float, float]] = {
    # bone: (girls, boys) mean age at complete physis fusion, months. Greulich & Pyle 1959
    # (fusion sequence of the standards: distal phalanges first, then metacarpals and proximal and
    # middle phalanges, the distal ulna and radius last) and Gilsanz & Ratib 2005: distal
    # phalanges ~13.5 y F / ~15.5 y M, radius ~16 y F / ~18 y M. The months in between are
    # interpolated along that sequence.
    "distal_phalanx": (162.0, 186.0),
    "middle_phalanx": (168.0, 192.0),
    "proximal_phalanx": (172.0, 196.0),
    "metacarpal": (176.0, 200.0),
    "ulna": (186.0, 210.0),
    "radius": (192.0, 216.0),
}

_APPEARANCE_SD_FRACTION = 0.25
"""SD of appearance age as a fraction of its mean (floor 1.5 months): the 5th-95th percentile spans
of Garn et al. 1967 for hand centres are roughly +-40 % of the median, i.e. SD ~ 25 % (an
approximation of their table, not a fit)."""
_FUSION_SD_MONTHS = 12.0
"""SD of fusion age (months): Greulich & Pyle's standard deviations of skeletal age at 13-17 y are
10-14 months."""


SESAMOID_APPEARANCE_MONTHS: dict[str, tuple[float, float]] = {
    "F": (132.0, 12.0),
    "M": (156.0, 12.0),
}
"""Mean and SD (months) of the appearance of the adductor sesamoid at the thumb's
metacarpophalangeal joint, which marks the onset of puberty: ~11 y in girls, ~13 y in boys
(Greulich & Pyle 1959; Gilsanz & Ratib 2005). Not a labelled bone; the phantom draws it for
realism."""


def _sex_index(sex: str) -> int:
    if sex not in ("F", "M"):
        raise ValueError(f"sex must be 'F' or 'M', got {sex!r}")
    return 0 if sex == "F" else 1


def _normal_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


OSSIFICATION_CENTRES: tuple[str, ...] = tuple(_APPEARANCE_MONTHS)
"""Every carpal and epiphysis whose appearance is timed (all of CARPALS and EPIPHYSES)."""


def appearance_age_months(centre: str, sex: str) -> tuple[float, float]:
    """Mean and SD (months) of the age at which ``centre`` (a carpal or an ``*_epiphysis``) first
    shows on a radiograph, for ``sex`` "F" or "M"."""
    if centre not in _APPEARANCE_MONTHS:
        raise KeyError(f"{centre!r} is not an ossification centre of boneage.phantom.anatomy")
    mean = _APPEARANCE_MONTHS[centre][_sex_index(sex)]
    return mean, max(1.5, _APPEARANCE_SD_FRACTION * mean)


def ossification_probability(centre: str, age_months: float, sex: str) -> float:
    """Probability that ``centre`` is visible at ``age_months`` (normal model of appearance age)."""
    mean, sd = appearance_age_months(centre, sex)
    return _normal_cdf((age_months - mean) / sd)


def _fusion_group(bone: str) -> str:
    name = BY_NAME[bone].parent if bone.endswith("_epiphysis") else bone
    if name is None or name not in BY_NAME or BY_NAME[name].kind != "long":
        raise KeyError(f"{bone!r} has no physis in boneage.phantom.anatomy")
    return name.rsplit("_", 1)[0] if name[-1].isdigit() else name


def fusion_age_months(bone: str, sex: str) -> tuple[float, float]:
    """Mean and SD (months) of the age at which the physis of ``bone`` (a long bone or its
    ``*_epiphysis``) is completely fused, for ``sex`` "F" or "M"."""
    mean = _FUSION_MONTHS[_fusion_group(bone)][_sex_index(sex)]
    return mean, _FUSION_SD_MONTHS


def physis_fused_probability(bone: str, age_months: float, sex: str) -> float:
    """Probability that the physis of ``bone`` is fused at ``age_months``."""
    mean, sd = fusion_age_months(bone, sex)
    return _normal_cdf((age_months - mean) / sd)


# ---------------------------------------------------------------------------------------------
# Bone lengths by age and sex.
# ---------------------------------------------------------------------------------------------
_ADULT_LENGTH_MM: dict[str, tuple[float, float]] = {
    # bone: (women, men) adult length in mm. Hand bones: the adult rows of Garn, Hertzog,
    # Poznanski & Nagy 1972 (Radiology 105:375), rounded; women ~ 91-93 % of men. Radius and ulna:
    # adult lengths after Maresh 1955 (Am J Dis Child 89:725) extended to maturity with the
    # classic adult values (radius ~ 240 mm men, ~ 215 mm women; ulna ~ 15-20 mm longer).
    "metacarpal_1": (43.0, 47.0),
    "metacarpal_2": (65.0, 70.5),
    "metacarpal_3": (62.0, 67.5),
    "metacarpal_4": (55.0, 59.5),
    "metacarpal_5": (51.0, 55.0),
    "proximal_phalanx_1": (30.0, 33.0),
    "proximal_phalanx_2": (39.5, 43.0),
    "proximal_phalanx_3": (44.0, 48.0),
    "proximal_phalanx_4": (41.0, 45.0),
    "proximal_phalanx_5": (33.0, 36.0),
    "middle_phalanx_2": (23.5, 26.0),
    "middle_phalanx_3": (27.5, 30.0),
    "middle_phalanx_4": (26.5, 29.0),
    "middle_phalanx_5": (19.0, 21.0),
    "distal_phalanx_1": (21.5, 24.0),
    "distal_phalanx_2": (16.5, 18.0),
    "distal_phalanx_3": (17.5, 19.5),
    "distal_phalanx_4": (17.5, 19.5),
    "distal_phalanx_5": (15.5, 17.0),
    "radius": (215.0, 240.0),
    "ulna": (232.0, 258.0),
}

_STATURE_AGE_YEARS = (0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20)
_STATURE_CM: dict[str, tuple[float, ...]] = {
    # CDC 2000 growth charts, 50th percentile stature/length (cm), rounded; 20 y = adult.
    "F": (
        49.2,
        65.7,
        74.0,
        85.7,
        94.1,
        101.6,
        108.4,
        115.0,
        121.1,
        127.2,
        133.0,
        138.6,
        144.8,
        151.2,
        156.7,
        160.0,
        161.8,
        162.5,
        162.9,
        163.1,
        163.3,
    ),
    "M": (
        49.9,
        67.5,
        76.0,
        87.1,
        95.3,
        102.5,
        109.2,
        115.5,
        121.9,
        128.0,
        133.3,
        138.4,
        143.5,
        149.1,
        156.2,
        163.8,
        170.1,
        173.4,
        175.2,
        176.1,
        176.8,
    ),
}
_HAND_GROWTH_EXPONENT = 0.9
"""Hand bones are relatively longer than stature in infancy (newborn hand ~ 32 % of adult length
against stature ~ 28 %), so their fraction of adult length is the stature fraction to this power."""
_LENGTH_CV = 0.065
"""Coefficient of variation of a bone's length at a given age and sex: Garn et al. 1972 report SDs
of about 5-8 % of the mean across ages."""


def growth_fraction(age_months: float, sex: str) -> float:
    """Median stature at ``age_months`` as a fraction of adult stature (CDC 2000), 0.28-1."""
    table = _STATURE_CM[("F", "M")[_sex_index(sex)]]
    years = min(max(age_months / 12.0, 0.0), 20.0)
    return float(np.interp(years, _STATURE_AGE_YEARS, table) / table[-1])


LENGTH_BONES: tuple[str, ...] = tuple(_ADULT_LENGTH_MM)
"""The long bones with a length reference (all of LONG_BONES)."""


def adult_length_mm(bone: str, sex: str) -> float:
    """Mean adult length (mm) of ``bone`` for ``sex``."""
    return _ADULT_LENGTH_MM[bone][_sex_index(sex)]


def bone_length_mm(bone: str, age_months: float, sex: str) -> tuple[float, float]:
    """Mean and SD (mm) of the length of long bone ``bone`` at ``age_months`` for ``sex``.

    A smooth growth model, not a transcription of Garn 1972 / Maresh 1955 by age: the adult length
    (table above) times the CDC 2000 stature fraction at that age (to the power 0.9 for the hand's
    bones), with a constant coefficient of variation of 6.5 %. It reproduces the sources' adult
    proportions and the sex difference; at individual ages it is an approximation.
    """
    if bone not in _ADULT_LENGTH_MM:
        raise KeyError(f"{bone!r} has no length reference in boneage.phantom.anatomy")
    exponent = 1.0 if bone in ("radius", "ulna") else _HAND_GROWTH_EXPONENT
    mean = adult_length_mm(bone, sex) * growth_fraction(age_months, sex) ** exponent
    return mean, _LENGTH_CV * mean

"""The phantom generator: interface, determinism, label alignment, maturity by age and sex,
mirroring of right hands. Speed is measured in bench/bench_phantom.py, not here."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from boneage.phantom import Phantom, anatomy, generate_phantom

SEEDS = range(6)


def _present(phantom: Phantom) -> set[str]:
    return {anatomy.BY_LABEL[int(label)].name for label in np.unique(phantom.labels) if label}


def _touches(labels: np.ndarray, first: str, second: str) -> bool:
    mask = ndimage.binary_dilation(labels == anatomy.BY_NAME[first].label, np.ones((3, 3), bool))
    return bool((mask & (labels == anatomy.BY_NAME[second].label)).any())


def test_phantom_has_the_documented_types_and_ranges() -> None:
    phantom = generate_phantom(3, size=256)
    assert phantom.image.shape == phantom.labels.shape == (256, 256)
    assert phantom.image.dtype == np.float32 and phantom.labels.dtype == np.uint8
    assert phantom.image.min() >= 0.0 and phantom.image.max() <= 1.0
    assert phantom.labels.max() < anatomy.NUM_CLASSES
    assert 0.0 <= phantom.age_months <= 216.0
    assert phantom.sex in ("F", "M") and phantom.laterality in ("L", "R")
    assert 0.1 < phantom.spacing_mm < 0.8
    assert phantom.seed == 3


def test_same_seed_gives_the_same_phantom_and_another_seed_does_not() -> None:
    first, again, other = generate_phantom(11), generate_phantom(11), generate_phantom(12)
    np.testing.assert_array_equal(first.image, again.image)
    np.testing.assert_array_equal(first.labels, again.labels)
    assert (first.age_months, first.sex) == (again.age_months, again.sex)
    assert not np.array_equal(first.image, other.image)


def test_drawn_ages_and_sexes_cover_the_range() -> None:
    phantoms = [generate_phantom(seed, size=128) for seed in range(30)]
    ages = [p.age_months for p in phantoms]
    assert min(ages) < 50.0 and max(ages) > 160.0
    assert {p.sex for p in phantoms} == {"F", "M"}
    assert {p.laterality for p in phantoms} == {"L", "R"}


def test_given_age_and_sex_are_kept() -> None:
    phantom = generate_phantom(5, age_months=100.0, sex="M")
    assert (phantom.age_months, phantom.sex) == (100.0, "M")


def test_invalid_sex_is_refused() -> None:
    with pytest.raises(ValueError, match="sex"):
        generate_phantom(0, sex="X")


def test_bone_labels_lie_on_bright_pixels() -> None:
    """Labels aligned with the image: labelled bone is brighter than the tissue just around it."""
    for seed in SEEDS:
        phantom = generate_phantom(seed, age_months=120.0)
        bone = phantom.labels > 0
        ring = ndimage.binary_dilation(bone, iterations=4) & ~ndimage.binary_dilation(bone)
        assert phantom.image[bone].mean() > phantom.image[ring].mean() + 0.02


def test_pisiform_absent_at_two_years_and_present_at_fourteen() -> None:
    young = [generate_phantom(seed, age_months=24.0, sex="F") for seed in SEEDS]
    old = [generate_phantom(seed, age_months=168.0, sex="F") for seed in SEEDS]
    assert not any("pisiform" in _present(p) for p in young)
    assert sum("pisiform" in _present(p) for p in old) >= len(old) - 1


def test_carpals_appear_in_order_with_age() -> None:
    counts = []
    for months in (6.0, 40.0, 80.0, 160.0):
        phantoms = [generate_phantom(seed, age_months=months, sex="M") for seed in SEEDS]
        counts.append(np.mean([len(_present(p) & set(anatomy.CARPAL_NAMES)) for p in phantoms]))
    assert counts == sorted(counts) and counts[0] <= 2.5 and counts[-1] >= 7.0
    infant = generate_phantom(0, age_months=8.0, sex="F")
    assert {"capitate", "hamate"} <= _present(infant)
    assert not _present(infant) & {"scaphoid", "trapezium", "trapezoid", "pisiform"}


def test_girls_ossify_earlier_than_boys() -> None:
    def centres(sex: str) -> float:
        return np.mean(
            [len(_present(generate_phantom(s, age_months=30.0, sex=sex))) for s in SEEDS]
        )

    assert centres("F") > centres("M")


def test_open_physes_leave_a_gap_between_the_masks() -> None:
    """At 8 years every physis is open (anatomy: first fusions at 13.5 y): no epiphysis mask
    touches its bone's mask, whatever the pose, side or rotation."""
    for seed in SEEDS:
        child = generate_phantom(seed, age_months=96.0)
        present = _present(child)
        epiphyses = [bone for bone in anatomy.EPIPHYSES if bone.name in present]
        assert len(epiphyses) >= 19
        for bone in epiphyses:
            if bone.parent in present:
                assert not _touches(child.labels, bone.name, bone.parent), (seed, bone.name)


def test_fused_physes_let_the_masks_touch() -> None:
    for seed in SEEDS:
        adult = generate_phantom(seed, age_months=216.0, sex="F")
        for bone in ("distal_phalanx_3", "middle_phalanx_3", "proximal_phalanx_2", "metacarpal_3"):
            assert _touches(adult.labels, f"{bone}_epiphysis", bone), (seed, bone)


def test_fusion_follows_age_and_sex() -> None:
    """At 15 years most girls' distal phalanges are fused and most boys' are not."""

    def fused(sex: str) -> int:
        phantoms = [generate_phantom(seed, age_months=180.0, sex=sex) for seed in SEEDS]
        return sum(
            _touches(p.labels, f"distal_phalanx_{ray}_epiphysis", f"distal_phalanx_{ray}")
            for p in phantoms
            for ray in (2, 3, 4)
        )

    assert fused("F") > fused("M") + 6


def test_a_right_hand_is_mirrored_with_the_thumb_on_the_left() -> None:
    by_side: dict[str, Phantom] = {}
    for seed in range(20):
        phantom = generate_phantom(seed, age_months=120.0, size=256)
        by_side.setdefault(phantom.laterality, phantom)
    for side, phantom in by_side.items():
        thumb = ndimage.center_of_mass(phantom.labels == anatomy.BY_NAME["metacarpal_1"].label)
        little = ndimage.center_of_mass(phantom.labels == anatomy.BY_NAME["metacarpal_5"].label)
        assert (thumb[1] > little[1]) == (side == "L")
    assert set(by_side) == {"L", "R"}

"""The anatomy reference: stable label ids, ossification and fusion timing by sex, bone lengths
by age and sex."""

from __future__ import annotations

import pytest

from boneage.phantom import anatomy


def test_label_ids_are_stable() -> None:
    assert anatomy.NUM_CLASSES == 51
    assert anatomy.BY_NAME["radius"].label == 1
    assert anatomy.BY_NAME["distal_phalanx_5"].label == 21
    assert anatomy.BY_NAME["capitate"].label == 22
    assert anatomy.BY_NAME["pisiform"].label == 29
    assert anatomy.BY_NAME["radius_epiphysis"].label == 30
    assert anatomy.BY_NAME["distal_phalanx_5_epiphysis"].label == 50


def test_every_carpal_and_epiphysis_has_an_appearance_age() -> None:
    centres = {bone.name for bone in anatomy.CARPALS + anatomy.EPIPHYSES}
    assert set(anatomy.OSSIFICATION_CENTRES) == centres


@pytest.mark.parametrize("centre", anatomy.OSSIFICATION_CENTRES)
def test_girls_ossify_no_later_than_boys(centre: str) -> None:
    girls, _ = anatomy.appearance_age_months(centre, "F")
    boys, _ = anatomy.appearance_age_months(centre, "M")
    assert girls < boys


def test_carpals_appear_in_the_classic_order() -> None:
    for sex in ("F", "M"):
        age = {name: anatomy.appearance_age_months(name, sex)[0] for name in anatomy.CARPAL_NAMES}
        assert age["capitate"] < age["hamate"] < age["triquetrum"] < age["lunate"]
        assert age["lunate"] < min(age["scaphoid"], age["trapezium"], age["trapezoid"])
        assert max(age["scaphoid"], age["trapezium"], age["trapezoid"]) < age["pisiform"]
        assert age["capitate"] < 6.0 and 96.0 <= age["pisiform"] <= 144.0


def test_ossification_probability_rises_with_age_through_one_half_at_the_mean() -> None:
    mean, _ = anatomy.appearance_age_months("lunate", "M")
    ages = [0.0, mean / 2, mean, mean * 1.5, 216.0]
    probabilities = [anatomy.ossification_probability("lunate", age, "M") for age in ages]
    assert probabilities == sorted(probabilities)
    assert probabilities[2] == pytest.approx(0.5)
    assert probabilities[0] < 0.01 and probabilities[-1] > 0.99


def test_distal_phalanges_fuse_first_and_the_radius_last_girls_earlier() -> None:
    for sex in ("F", "M"):
        fusion = {
            bone.name: anatomy.fusion_age_months(bone.name, sex)[0] for bone in anatomy.LONG_BONES
        }
        assert min(fusion, key=fusion.get).startswith("distal_phalanx")
        assert max(fusion, key=fusion.get) == "radius"
    assert anatomy.fusion_age_months("radius", "F")[0] < anatomy.fusion_age_months("radius", "M")[0]
    assert anatomy.fusion_age_months("metacarpal_2_epiphysis", "F") == anatomy.fusion_age_months(
        "metacarpal_2", "F"
    )


def test_physes_are_open_in_childhood_and_fused_in_adulthood() -> None:
    assert anatomy.physis_fused_probability("radius", 120.0, "F") < 0.01
    assert anatomy.physis_fused_probability("distal_phalanx_3", 216.0, "M") > 0.9


def test_bones_lengthen_with_age_and_men_end_longer() -> None:
    for bone in anatomy.LENGTH_BONES:
        for sex in ("F", "M"):
            means = [anatomy.bone_length_mm(bone, age, sex)[0] for age in range(0, 217, 12)]
            assert means == sorted(means)
            assert 0.2 < means[0] / anatomy.adult_length_mm(bone, sex) < 0.4
        assert (
            anatomy.bone_length_mm(bone, 216.0, "M")[0]
            > anatomy.bone_length_mm(bone, 216.0, "F")[0]
        )


def test_adult_proportions_follow_the_hand() -> None:
    length = {bone: anatomy.adult_length_mm(bone, "M") for bone in anatomy.LENGTH_BONES}
    metacarpals = [length[f"metacarpal_{ray}"] for ray in range(1, 6)]
    assert max(metacarpals) == length["metacarpal_2"] and min(metacarpals) == length["metacarpal_1"]
    proximal = [length[f"proximal_phalanx_{ray}"] for ray in range(1, 6)]
    assert max(proximal) == length["proximal_phalanx_3"]
    assert length["ulna"] > length["radius"] > length["metacarpal_2"]


def test_length_sd_is_a_constant_fraction_of_the_mean() -> None:
    mean, sd = anatomy.bone_length_mm("proximal_phalanx_3", 60.0, "F")
    assert sd / mean == pytest.approx(0.065)


def test_unknown_names_and_sexes_are_refused() -> None:
    with pytest.raises(KeyError):
        anatomy.appearance_age_months("patella", "F")
    with pytest.raises(KeyError):
        anatomy.fusion_age_months("capitate", "F")
    with pytest.raises(KeyError):
        anatomy.bone_length_mm("capitate", 12.0, "F")
    with pytest.raises(ValueError, match="sex"):
        anatomy.bone_length_mm("radius", 12.0, "X")

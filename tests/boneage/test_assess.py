"""The assessment contract on phantoms and real radiographs, with the shipped demo models."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from boneage.assess import assess
from boneage.cli import main
from boneage.errors import MissingSex
from boneage.io import read_radiograph
from boneage.phantom import generate_phantom
from boneage.radiograph import Radiograph
from boneage.registry import ModelBundle, load_models
from tests.boneage.real_sample import UNLABELLED_REAL

REAL_XRAYS = UNLABELLED_REAL


@pytest.fixture(scope="module")
def models() -> ModelBundle:
    return load_models()


def _radiograph(seed: int, **tags) -> Radiograph:
    phantom = generate_phantom(seed, size=512)
    pixels = phantom.image[:, ::-1] if phantom.laterality == "R" else phantom.image
    fields = dict(
        pixels=np.ascontiguousarray(pixels),
        source_format="PNG",
        bit_depth=16,
        spacing_mm=None,
        spacing_source=None,
        sex=None,
        age_months=None,
        birth_date=None,
        study_date=None,
        laterality=None,
        handling=(),
    )
    return Radiograph(**{**fields, **tags})


def _check_estimate(estimate: dict) -> None:
    """Either an estimate with its interval, note and model, or a rejection in words."""
    assert "model" in estimate
    if "rejected" in estimate:
        assert isinstance(estimate["rejected"], str) and len(estimate["rejected"]) > 10
        return
    low, high = estimate["interval_months"]
    assert low <= estimate["age_months"] <= high
    assert 0 <= estimate["age_months"] <= 240
    assert estimate["note"]


def test_assessment_follows_the_contract(models: ModelBundle) -> None:
    result = assess(_radiograph(11), models=models, sex="F", chronological_age_months=100).to_dict()
    assert set(result) == {
        "schema_version",
        "input",
        "multistep",
        "endtoend",
        "agreement",
        "quality",
        "models",
        "chronological",
        "combined",
        "standard",
    }
    # the shipped models learnt RSNA 2017's labels, which radiologists read on Greulich & Pyle
    assert result["standard"] == "Greulich & Pyle (RSNA 2017 training labels)"
    for key in ("multistep", "endtoend"):
        _check_estimate(result[key])
    # on this film the distal radius is not found: the multi-step path rejects it, the
    # end-to-end path reads the whole film with the fallback CNN, and nothing is pooled
    assert "Only one path" in result["combined"]["rejected"]
    assert result["combined"]["model"]["combination"] == models.cards.combination.ident
    assert result["endtoend"]["framing"] == "field"
    assert result["endtoend"]["model"]["regression"] == models.cards.field_cnn.ident
    assert any("whole film instead" in c for c in result["quality"]["corrections"])
    assert result["multistep"]["model"]["segmentation"] == models.cards.landmarks.ident
    assert set(result["models"]) == {
        "segmentation",
        "reference",
        "regression",
        "gate",
        "regression_field",
        "reference_field",
        "combination",
    }
    assert {"agree", "difference_months", "flag_for_review"} <= set(result["agreement"])
    assert result["input"] == result["input"] | {"sex": "F", "sex_source": "argument"}
    json.dumps(result)  # the contract is plain JSON


def test_each_stage_that_ran_is_timed(models: ModelBundle) -> None:
    seconds = assess(_radiograph(18), models=models, sex="F").seconds
    ran = {"gate", "preprocessing", "segmentation", "measurement", "overlay", "cnn"}
    assert ran <= set(seconds) <= ran | {"lookup"}  # no lookup when the path rejects the film
    assert all(0 < s < 60 for s in seconds.values())
    blank = dataclasses.replace(_radiograph(17), pixels=np.full((512, 512), 0.3, np.float32))
    assert set(assess(blank, models=models, sex="F").seconds) == {"gate"}  # rejected there


def test_chronological_age_is_read_against_the_trusted_estimate(models: ModelBundle) -> None:
    result = assess(_radiograph(12), models=models, sex="M", chronological_age_months=60)
    chronological = result.to_dict()["chronological"]
    based_on = chronological["based_on"]
    estimate = result.to_dict()[based_on]["age_months"]
    assert chronological["difference_months"] == pytest.approx(estimate - 60, abs=0.11)
    assert chronological["category"] in {"delayed", "within normal", "advanced", "not determined"}
    assert chronological["category_reason"]


def test_without_chronological_age_there_is_no_comparison(models: ModelBundle) -> None:
    assert "chronological" not in assess(_radiograph(13), models=models, sex="M").to_dict()


def test_sex_is_required_when_the_file_does_not_say(models: ModelBundle) -> None:
    with pytest.raises(MissingSex):
        assess(_radiograph(14), models=models)


def test_sex_from_tags_is_used_and_a_conflict_is_stated(models: ModelBundle) -> None:
    tagged = _radiograph(15, sex="M")
    assert assess(tagged, models=models).to_dict()["input"]["sex_source"] == "dicom"
    checks = assess(tagged, models=models, sex="F").to_dict()["quality"]["checks"]
    conflict = [c for c in checks if c["name"] == "sex_matches_tags"]
    assert conflict and not conflict[0]["passed"] and "F was used" in conflict[0]["detail"]


def test_right_hand_from_tags_is_mirrored_and_says_so(models: ModelBundle) -> None:
    radiograph = _radiograph(16)
    right = dataclasses.replace(
        radiograph, pixels=np.ascontiguousarray(radiograph.pixels[:, ::-1]), laterality="R"
    )
    corrections = assess(right, models=models, sex="F").to_dict()["quality"]["corrections"]
    assert any("mirrored" in c for c in corrections)


def test_a_blank_image_is_rejected_by_both_paths(models: ModelBundle) -> None:
    blank = dataclasses.replace(_radiograph(17), pixels=np.full((512, 512), 0.3, np.float32))
    result = assess(blank, models=models, sex="F").to_dict()
    assert "blank" in result["multistep"]["rejected"]
    assert result["endtoend"]["rejected"] == result["multistep"]["rejected"]
    assert result["agreement"]["flag_for_review"]


@pytest.mark.skipif(not REAL_XRAYS.is_dir(), reason="BONEAGE_REAL_XRAYS is not set")
@pytest.mark.parametrize("name", [f"{i}.png" for i in range(10)])
def test_every_real_radiograph_gets_estimates_or_stated_rejections(
    models: ModelBundle, name: str
) -> None:
    result = assess(read_radiograph(REAL_XRAYS / name), models=models, sex="F").to_dict()
    _check_estimate(result["multistep"])
    _check_estimate(result["endtoend"])
    # The landmark U-Net reads every one of these films; the children are 0-3 years old, so
    # each multi-step interval must at least allow that, or the reading must say why not: the
    # rotated, cut-off film (4) reads 7 years in a crop whose finger chains cross, and that
    # study is flagged with the crossing named.
    if result["multistep"]["interval_months"][0] > 48:
        assert result["multistep"]["landmark_warning"]
        assert result["agreement"]["flag_for_review"]
    assert result["endtoend"]["age_months"] >= 0
    # every model states its training data: all are trained (the combination rule fitted) on
    # real RSNA films
    kinds = {m["training_data"]["kind"] for m in result["models"].values()}
    assert kinds == {
        "rsna-2017-train",
        "rsna-2017-train-annotated",
        "rsna-2017-train-calibration",
    }
    # the outline's turns are not corrections: the estimates read the film as stored
    assert not any("rotated" in c for c in result["quality"]["corrections"])


def test_cli_prints_the_contract_as_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "hand.png"
    from PIL import Image

    Image.fromarray((_radiograph(18).pixels * 255).astype(np.uint8)).save(path)
    overlay = tmp_path / "overlay.png"
    assert main(["assess", str(path), "--sex", "M", "--json", "--overlay", str(overlay)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["schema_version"] == 1 and result["input"]["sex"] == "M"
    assert overlay.stat().st_size > 0  # the segmented bones, drawn even when the path rejects


def test_cli_without_sex_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "hand.png"
    from PIL import Image

    Image.fromarray((_radiograph(19).pixels * 255).astype(np.uint8)).save(path)
    assert main(["assess", str(path)]) == 2
    assert "sex" in capsys.readouterr().err


@pytest.mark.parametrize(("identifier", "side"), [("1432", "R"), ("1378", "L")])
def test_a_side_neither_tag_nor_outline_gives_is_read_from_the_palm_landmarks(
    models: ModelBundle, identifier: str, side: str
) -> None:
    from tests.boneage.real_sample import RSNA_SAMPLE

    film = read_radiograph(RSNA_SAMPLE / "images" / f"{identifier}.jpg")
    record = assess(film, models=models, sex="F").record
    assert record.input.laterality == side
    (laterality,) = [c for c in record.quality.checks if c.name == "laterality"]
    assert laterality.passed and "the palm landmarks place it" in laterality.detail
    # the outline was not traced on these films: said, but as a note, not a failure
    (outline,) = [c for c in record.quality.checks if c.name == "outline"]
    assert not outline.passed and outline.informative
    assert "read as acquired" in outline.detail

"""``boneage evaluate``: the full assessment over a labelled folder, every image accounted for."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from boneage.cli import main
from boneage.evaluation.contact_sheet import CAPTION, TILE, ContactSheet
from boneage.evaluation.labelled_folder import CaseResult, reason_kind, summarise_path
from tests.boneage.real_sample import RSNA_SAMPLE


def test_evaluate_accounts_for_every_image_of_the_split(tmp_path, capsys):
    out, sheet = tmp_path / "val.json", tmp_path / "sheet.png"
    args = ["evaluate", str(RSNA_SAMPLE), "--split", "val", "--limit", "6", "--json", str(out)]
    assert main([*args, "--contact-sheet", str(sheet)]) == 0
    printed = capsys.readouterr().out
    assert "6 images of" in printed and "(split val)" in printed
    result = json.loads(out.read_text())
    assert result["images"] == 6
    for path in ("multistep", "endtoend"):
        summary = result["paths"][path]
        assert summary["answered"] + sum(summary["rejections"].values()) == 6
    endtoend = result["paths"]["endtoend"]
    assert endtoend["answered"] >= 5
    assert endtoend["mae_months"] > 0
    assert set(endtoend["mae_by_sex"]) <= {"F", "M"}
    assert result["seconds_per_image"] > 0
    with Image.open(sheet) as picture:  # six films, four to a row, each with its caption
        assert picture.size == (4 * TILE, 2 * (TILE + CAPTION))


def test_the_contact_sheet_spans_the_ages_and_both_sexes():
    from boneage.evaluation.labelled_folder import chosen_records

    records = chosen_records(RSNA_SAMPLE, "val", None)
    sheet = ContactSheet.spanning(records)
    by_id = {r.id: r for r in records}
    chosen = [by_id[i] for i in sheet.ids]
    assert len(chosen) == 12 and len(set(sheet.ids)) == 12
    assert [r.sex for r in chosen] == ["F", "M"] * 6
    ages = [r.age_months for r in records]
    assert min(r.age_months for r in chosen) <= sorted(ages)[3]
    assert max(r.age_months for r in chosen) >= sorted(ages)[-4]


def test_limit_takes_the_same_images_on_every_run(tmp_path):
    from boneage.evaluation.labelled_folder import chosen_records

    first = [r.id for r in chosen_records(RSNA_SAMPLE, "val", 5)]
    assert first == [r.id for r in chosen_records(RSNA_SAMPLE, "val", 5)]
    assert len(set(first)) == 5


def test_an_age_band_keeps_only_the_films_labelled_in_it(capsys):
    from boneage.evaluation.labelled_folder import chosen_records

    everything = chosen_records(RSNA_SAMPLE, "val", None)
    ages = sorted(r.age_months for r in everything)
    cut = ages[len(ages) // 2]
    young = chosen_records(RSNA_SAMPLE, "val", None, (0, cut))
    assert young and all(r.age_months < cut for r in young)
    assert len(young) == sum(age < cut for age in ages)
    with pytest.raises(SystemExit):
        main(["evaluate", str(RSNA_SAMPLE), "--ages", "24-12"])
    assert "the band needs 0 <= LO < HI" in capsys.readouterr().err


def test_rejections_count_by_kind_and_never_as_errors():
    cases = [
        CaseResult("a", "F", 100.0, 110.0, (90.0, 130.0)),
        CaseResult("b", "M", 50.0, 40.0, (35.0, 45.0)),
        CaseResult("c", "M", 70.0, rejected="scattered: 31% of pixels"),
        CaseResult("d", "F", 70.0, rejected="scattered: 44% of pixels"),
    ]
    summary = summarise_path(cases)
    assert summary.answered == 2
    assert summary.rejections == {"scattered: N% of pixels": 2}
    assert summary.mae_months == pytest.approx(10.0)
    assert summary.bias_months == pytest.approx(0.0)
    assert summary.coverage_90 == pytest.approx(0.5)
    assert summary.mae_by_sex == {"F": 10.0, "M": 10.0}
    assert reason_kind("fills 88% (solidity 0.54)") == "fills N% (solidity N)"


def test_attach_puts_the_figures_on_the_cnn_card_and_the_models_still_load(tmp_path):
    import shutil

    from boneage.registry import DEFAULT_DIRECTORY, load_models

    models = tmp_path / "models"
    shutil.copytree(DEFAULT_DIRECTORY, models)
    args = ["evaluate", str(RSNA_SAMPLE), "--split", "val", "--limit", "3"]
    assert main([*args, "--models", str(models), "--attach"]) == 0
    cards = load_models(models).cards.by_kind()
    for kind in ("regression", "reference"):
        card = cards[kind]
        assert card.held_out.kind == "rsna-2017-val"
        assert card.held_out.metrics["images"] == 3.0
        assert card.held_out.size + card.held_out.metrics["rejected"] == 3

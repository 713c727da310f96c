"""``boneage fit-reference`` on a labelled RSNA-layout folder: U-Net measurements, a seed-0
held-out split, a ratios-only table, unmeasurable cases skipped and counted; and its refusals."""

from __future__ import annotations

import contextlib
import csv
import io
import math
import shutil
from pathlib import Path

import pytest
from PIL import Image

from boneage.cli import main
from boneage.modelcard import ModelCard
from boneage.multistep.table import ReferenceTable
from boneage.phantom.dataset_writer import write_phantom_dataset
from boneage.phantom.demo import PHANTOM_UNET_FOLDER
from boneage.registry import DEFAULT_DIRECTORY
from tests.boneage.radiograph_files import gradient_image

N_PHANTOMS = 110
N_HELD_OUT = 10
DEMO_UNET = DEFAULT_DIRECTORY / PHANTOM_UNET_FOLDER / "unet.pt"


@pytest.fixture(scope="module")
def rsna_folder(tmp_path_factory) -> Path:
    """Small phantoms in the plain RSNA layout (``id,boneage,male`` and ``images/``, no masks),
    plus one image of no hand at all, which the U-Net cannot measure."""
    folder = tmp_path_factory.mktemp("hands")
    records = write_phantom_dataset(folder, N_PHANTOMS, seed=3, size=128)
    shutil.rmtree(folder / "masks")
    (folder / "dataset.json").unlink()
    Image.fromarray(gradient_image(128, 128, peak=65535)).save(folder / "images" / "blank.png")
    with (folder / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "boneage", "male"])
        writer.writerows([r.id, f"{r.age_months:.1f}", r.sex == "M"] for r in records)
        writer.writerow(["blank", "120", "True"])
    return folder


@pytest.fixture(scope="module")
def fitted(rsna_folder, tmp_path_factory) -> tuple[ReferenceTable, ModelCard, str]:
    """The table, its card and the command's output, from one run with the demo U-Net."""
    out = tmp_path_factory.mktemp("fit") / "table.json"
    argv = ["fit-reference", str(rsna_folder), "--out", str(out), "--unet", str(DEMO_UNET)]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main([*argv, "--n-held-out", str(N_HELD_OUT), "--threads", "1"]) == 0
    return (
        ReferenceTable.load(out),
        ModelCard.load(out.with_suffix(".card.json")),
        stdout.getvalue(),
    )


def test_a_folder_gives_a_ratios_only_table_named_for_the_folder(rsna_folder, fitted):
    table, card, _ = fitted
    assert table.modes() == ("ratios",)
    assert table.name == f"reference-{rsna_folder.name}"
    assert rsna_folder.name in table.provenance["source"]
    assert "unet.pt" in table.provenance["source"]
    assert card.training_data.kind == "rsna-folder"
    assert rsna_folder.name in card.training_data.description
    assert not card.training_data.synthetic


def test_the_card_scores_the_held_out_cases_in_ratios_mode(fitted):
    _, card, _ = fitted
    assert card.held_out.kind == "rsna-folder" and card.held_out.size == N_HELD_OUT
    assert set(card.held_out.metrics) == {"mae_months/ratios", "coverage_90/ratios"}
    assert math.isfinite(card.held_out.mae_months) and card.held_out.mae_months >= 0
    assert 0 <= card.held_out.coverage_90 <= 1


def test_an_unmeasurable_case_is_skipped_counted_and_said(fitted):
    table, card, stdout = fitted
    skipped = card.settings["unmeasurable"]
    assert skipped["training"] + skipped["held_out"] >= 1
    assert card.training_data.size + skipped["training"] == N_PHANTOMS + 1 - N_HELD_OUT
    assert table.provenance["size"] == card.training_data.size
    assert "skipped" in stdout


def test_a_folder_without_a_unet_is_refused_in_words(rsna_folder, tmp_path, capsys):
    out = tmp_path / "table.json"
    assert main(["fit-reference", str(rsna_folder), "--out", str(out)]) == 2
    assert "--unet" in capsys.readouterr().err
    assert not out.exists()


def test_holding_out_too_many_cases_is_refused_before_measuring(rsna_folder, tmp_path, capsys):
    argv = ["fit-reference", str(rsna_folder), "--out", str(tmp_path / "t.json")]
    assert main([*argv, "--unet", str(DEMO_UNET), "--n-held-out", "80"]) == 2
    assert "leaves fewer than the 40 hands" in capsys.readouterr().err


@pytest.mark.parametrize("dataset", ["phantoms:0:50", "phantom:0", "no/such/folder"])
def test_a_dataset_neither_phantom_nor_folder_is_refused(dataset, tmp_path, capsys):
    assert main(["fit-reference", dataset, "--out", str(tmp_path / "t.json")]) == 2
    assert "DATASET must be phantom:FIRST:COUNT or an RSNA-layout folder" in (
        capsys.readouterr().err
    )

"""``boneage info`` and ``boneage phantom`` through the dispatcher, as a user runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from boneage.cli import main
from boneage.training.common.datasets import PhantomDataset
from tests.boneage.radiograph_files import dicom_bytes, gradient_image, png_bytes


def test_info_prints_what_the_dicom_said(tmp_path, capsys):
    path = tmp_path / "study"
    path.write_bytes(
        dicom_bytes(
            gradient_image(),
            photometric="MONOCHROME1",
            ImagerPixelSpacing=[0.143, 0.143],
            PatientSex="M",
            PatientBirthDate="20150101",
            StudyDate="20220101",
            ImageLaterality="L",
        )
    )
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "DICOM, 12-bit stored" in out
    assert "200 × 256 pixels" in out
    assert "0.143 × 0.143 mm per pixel (row × column, from ImagerPixelSpacing)" in out
    assert "sex         M" in out and "laterality  L" in out
    assert "84.0 months (7 y 0 m), from PatientBirthDate and StudyDate" in out
    assert "MONOCHROME1 inverted" in out


def test_info_json_is_one_object_with_the_radiograph_fields(tmp_path, capsys):
    path = tmp_path / "hand.png"
    path.write_bytes(png_bytes(gradient_image(peak=65535)))
    assert main(["info", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["source_format"] == "PNG" and summary["bit_depth"] == 16
    assert (summary["rows"], summary["columns"]) == (256, 200)
    assert summary["spacing_mm"] is None and summary["age_months"] is None


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"%PDF-1.4\n", "PDF document"),
        (png_bytes(np.zeros((40, 40), np.uint8)), "40 × 40 pixels"),
        (dicom_bytes(gradient_image())[:3000], "truncated or damaged"),
    ],
    ids=["empty", "pdf", "tiny", "truncated-dicom"],
)
def test_info_refusal_is_one_line_and_exit_code_2(tmp_path, capsys, content, words):
    path = tmp_path / "upload"
    path.write_bytes(content)
    assert main(["info", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: ")
    assert words in captured.err and "Traceback" not in captured.err


def test_info_on_a_missing_file_says_so(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nothing.dcm")]) == 2
    assert "There is no file at" in capsys.readouterr().err


def test_phantom_command_writes_a_readable_dataset(tmp_path, capsys):
    out = tmp_path / "phantoms"
    assert main(["phantom", "--n", "2", "--out", str(out), "--seed", "5", "--size", "96"]) == 0
    captured = capsys.readouterr()
    assert "wrote 2 phantoms of 96 × 96 pixels" in captured.out
    assert "2/2" in captured.err
    dataset = PhantomDataset(out)
    assert [record.seed for record in dataset.records] == [5_000_000, 5_000_001]
    assert dataset[0]["label"].shape == (1, 96, 96)


def test_phantom_command_refuses_a_size_too_small_in_words(tmp_path, capsys):
    args = ["phantom", "--n", "1", "--out", str(tmp_path / "p"), "--seed", "0", "--size", "32"]
    assert main(args) == 2
    assert "at least 64 pixels" in capsys.readouterr().err


def test_the_command_line_starts_without_the_heavy_libraries():
    """``boneage --help`` once took 26 s, most of it importing MONAI: the subcommands import
    torch, MONAI and pydicom only when they run."""
    import subprocess
    import sys

    probe = (
        "import sys, boneage.cli; boneage.cli.build_parser(); "
        "print(sorted(m for m in ('torch', 'monai', 'pydicom') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

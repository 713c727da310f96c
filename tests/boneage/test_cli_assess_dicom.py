"""``boneage assess FILE --sr --sc``: the shipped models' assessment as DICOM, in the film's study
or, for a PNG, in a new study the tool announces."""

from __future__ import annotations

import pydicom

from boneage.cli import main
from tests.boneage.radiograph_files import png_bytes
from tests.dicom_checks import dciodvfy_errors, phantom_hand_dicom


def _texts(dataset: pydicom.Dataset) -> list[str]:
    items = dataset.get("ContentSequence", [])
    return [str(i.TextValue) for i in items if "TextValue" in i] + [
        text for item in items for text in _texts(item)
    ]


def test_a_dicom_film_gets_an_sr_and_sc_in_its_own_study(tmp_path, capsys):
    film = tmp_path / "hand.dcm"
    film.write_bytes(phantom_hand_dicom(sex="F"))
    sr_path, sc_path = tmp_path / "sr.dcm", tmp_path / "sc.dcm"
    code = main(["assess", str(film), "--sex", "F", "--chronological-age-months", "120",
                 "--json", "--sr", str(sr_path), "--sc", str(sc_path)])  # fmt: skip
    assert code == 0
    assert "new study" not in capsys.readouterr().err
    source = pydicom.dcmread(film)
    sr, sc = pydicom.dcmread(sr_path), pydicom.dcmread(sc_path)
    assert sr.StudyInstanceUID == sc.StudyInstanceUID == source.StudyInstanceUID
    assert sr.Modality == "SR" and sc.Modality == "OT"
    texts = _texts(sr)
    assert any(" trained on " in text for text in texts), texts  # the models' training data
    assert dciodvfy_errors(sr_path) == [] and dciodvfy_errors(sc_path) == []


def test_a_png_starts_a_new_study_and_says_so(tmp_path, capsys):
    film = tmp_path / "hand.png"
    film.write_bytes(png_bytes(pydicom.dcmread(
        pydicom.filebase.DicomBytesIO(phantom_hand_dicom())).pixel_array * 16))  # fmt: skip
    sr_path = tmp_path / "sr.dcm"
    assert main(["assess", str(film), "--sex", "M", "--sr", str(sr_path)]) == 0
    err = capsys.readouterr().err
    sr = pydicom.dcmread(sr_path)
    assert f"new study, Study Instance UID {sr.StudyInstanceUID}" in err
    assert sr.PatientSex == "M"

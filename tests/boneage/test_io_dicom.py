"""DICOM reading: the display pipeline, the patient facts, compressed syntaxes, two writers."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.uid import JPEG2000Lossless, RLELossless

from boneage.io import read_radiograph
from boneage.io.dicom import DAYS_PER_MONTH, parse_age_string
from tests.boneage.radiograph_files import dicom_bytes, gradient_image


@pytest.mark.parametrize("bits", [8, 12, 16])
def test_monochrome2_maps_darkest_to_0_and_brightest_to_1_in_order(write_dicom, bits):
    stored = gradient_image(peak=2**bits - 1).astype(np.uint8 if bits == 8 else np.uint16)
    radiograph = read_radiograph(write_dicom(stored, bits_stored=bits))
    row = radiograph.pixels[0]
    assert radiograph.source_format == "DICOM"
    assert radiograph.bit_depth == bits
    assert radiograph.pixels.dtype == np.float32
    assert radiograph.shape == (256, 200)
    assert row[0] == 0.0 and row[-1] == 1.0
    assert np.all(np.diff(row) > 0)


def test_monochrome1_is_inverted_so_bone_is_bright_and_says_so(write_dicom):
    plain = read_radiograph(write_dicom(gradient_image()))
    inverted = read_radiograph(write_dicom(gradient_image(), photometric="MONOCHROME1"))
    np.testing.assert_allclose(inverted.pixels, 1.0 - plain.pixels, atol=1e-6)
    assert any("MONOCHROME1" in step for step in inverted.handling)
    assert not any("MONOCHROME1" in step for step in plain.handling)


def test_window_center_and_width_clip_outside_and_stretch_inside(write_dicom):
    stored = gradient_image()
    radiograph = read_radiograph(write_dicom(stored, WindowCenter=2048, WindowWidth=1024))
    expected = np.clip((stored[0] - 1536.0) / 1024.0, 0.0, 1.0)
    np.testing.assert_allclose(radiograph.pixels[0], expected, atol=2e-3)
    assert any("window centre 2048, width 1024" in step for step in radiograph.handling)


def test_rescale_slope_and_intercept_come_before_the_window(write_dicom):
    stored = gradient_image()
    radiograph = read_radiograph(
        write_dicom(
            stored, RescaleSlope=2, RescaleIntercept=-1000, WindowCenter=3000, WindowWidth=2000
        )
    )
    rescaled = 2.0 * stored[0] - 1000.0
    expected = np.clip((rescaled - 2000.0) / 2000.0, 0.0, 1.0)
    np.testing.assert_allclose(radiograph.pixels[0], expected, atol=2e-3)
    assert any("Rescale Slope 2" in step for step in radiograph.handling)


def test_voi_lut_sequence_is_applied(write_dicom):
    stored = gradient_image(peak=255)
    item = pydicom.Dataset()
    item.LUTDescriptor = [256, 0, 16]
    item.add_new(0x00283006, "US", [min(4 * v, 800) for v in range(256)])
    radiograph = read_radiograph(write_dicom(stored, bits_stored=8, VOILUTSequence=[item]))
    expected = np.minimum(4.0 * stored[0], 800.0) / 800.0
    np.testing.assert_allclose(radiograph.pixels[0], expected, atol=1e-6)
    assert "VOI LUT applied" in radiograph.handling


@pytest.mark.parametrize("keyword", ["PixelSpacing", "ImagerPixelSpacing"])
def test_spacing_is_read_from_either_tag_and_the_tag_is_named(write_dicom, keyword):
    radiograph = read_radiograph(write_dicom(gradient_image(), **{keyword: [0.15, 0.2]}))
    assert radiograph.spacing_mm == (0.15, 0.2)
    assert radiograph.spacing_source == keyword


def test_calibrated_pixel_spacing_wins_over_the_detector_spacing(write_dicom):
    path = write_dicom(gradient_image(), PixelSpacing=[0.1, 0.1], ImagerPixelSpacing=[0.14, 0.14])
    radiograph = read_radiograph(path)
    assert radiograph.spacing_mm == (0.1, 0.1)
    assert radiograph.spacing_source == "PixelSpacing"


def test_no_spacing_tag_means_unknown_spacing(write_dicom):
    radiograph = read_radiograph(write_dicom(gradient_image()))
    assert radiograph.spacing_mm is None and radiograph.spacing_source is None


def test_age_from_birth_and_study_dates_wins_over_the_rounded_patient_age(write_dicom):
    path = write_dicom(
        gradient_image(), PatientBirthDate="20150301", StudyDate="20220915", PatientAge="007Y"
    )
    radiograph = read_radiograph(path)
    days = (radiograph.study_date - radiograph.birth_date).days
    assert days == 2755
    assert radiograph.age_months == pytest.approx(days / DAYS_PER_MONTH)
    assert radiograph.age_months == pytest.approx(90.5, abs=0.1)


@pytest.mark.parametrize(
    ("age_string", "months"),
    [("007Y", 84.0), ("084M", 84.0), ("010W", 70 / DAYS_PER_MONTH), ("020D", 20 / DAYS_PER_MONTH)],
)
def test_patient_age_string_becomes_months(write_dicom, age_string, months):
    radiograph = read_radiograph(write_dicom(gradient_image(), PatientAge=age_string))
    assert radiograph.age_months == pytest.approx(months)
    assert radiograph.birth_date is None


@pytest.mark.parametrize("junk", ["", "7Y", "7 Y", "Y", "00XY", "abcM"])
def test_malformed_age_strings_give_no_age(junk):
    expected = 84.0 if junk == "7Y" else None
    assert parse_age_string(junk) == expected


@pytest.mark.filterwarnings("ignore:Invalid value for VR DA")
def test_unreadable_dates_fall_back_to_patient_age(write_dicom):
    path = write_dicom(gradient_image(), PatientBirthDate="2015", StudyDate="", PatientAge="084M")
    assert read_radiograph(path).age_months == 84.0


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"ImageLaterality": "R", "Laterality": "L"}, "R"),
        ({"Laterality": "L"}, "L"),
        ({"ImageLaterality": "B"}, None),
        ({}, None),
    ],
)
def test_laterality_prefers_the_image_level_tag(write_dicom, tags, expected):
    assert read_radiograph(write_dicom(gradient_image(), **tags)).laterality == expected


@pytest.mark.parametrize(("tag", "expected"), [("F", "F"), ("M", "M"), ("O", None)])
def test_sex_is_read_from_patient_sex(write_dicom, tag, expected):
    assert read_radiograph(write_dicom(gradient_image(), PatientSex=tag)).sex == expected


def test_rle_lossless_from_pydicom_decodes_to_the_same_pixels(write_dicom):
    plain = read_radiograph(write_dicom(gradient_image()))
    rle = read_radiograph(write_dicom(gradient_image(), syntax=RLELossless))
    np.testing.assert_array_equal(rle.pixels, plain.pixels)


def test_jpeg_2000_lossless_decodes_to_the_same_pixels():
    original = dicom_bytes(gradient_image())
    dataset = pydicom.dcmread(BytesIO(original))
    dataset.compress(JPEG2000Lossless)
    buffer = BytesIO()
    dataset.save_as(buffer)
    compressed = read_radiograph(buffer.getvalue())
    np.testing.assert_array_equal(compressed.pixels, read_radiograph(original).pixels)


def test_dicom_without_the_part10_preamble_is_still_read():
    radiograph = read_radiograph(dicom_bytes(gradient_image(), part10=False, PatientSex="M"))
    assert radiograph.source_format == "DICOM"
    assert radiograph.sex == "M"
    assert radiograph.pixels[0, -1] == 1.0


def test_the_file_name_is_not_trusted(tmp_path):
    path = tmp_path / "hand.png"
    path.write_bytes(dicom_bytes(gradient_image()))
    assert read_radiograph(path).source_format == "DICOM"


@pytest.fixture
def gray_source(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """An 8-bit gray BMP for dcmtk's img2dcm, and its values."""
    values = gradient_image(peak=255).astype(np.uint8)
    path = tmp_path / "gray.bmp"
    Image.fromarray(values).save(path)
    return path, values


def test_dcmtk_jpeg_baseline_with_tags_is_read(dcmtk, tmp_path):
    values = gradient_image(peak=255).astype(np.uint8)
    source = tmp_path / "hand.jpg"
    Image.fromarray(values).save(source, quality=95)
    keys = ["-k", "PatientSex=F", "-k", "PatientAge=084M", "-k", "ImageLaterality=R"]
    path = dcmtk("img2dcm", source, *keys)
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID.name.startswith("JPEG Baseline")
    radiograph = read_radiograph(path)
    assert (radiograph.sex, radiograph.age_months, radiograph.laterality) == ("F", 84.0, "R")
    np.testing.assert_allclose(radiograph.pixels, values / 255.0, atol=0.03)


def test_dcmtk_colour_jpeg_is_reduced_to_luminance(dcmtk, tmp_path):
    values = gradient_image(peak=255).astype(np.uint8)
    source = tmp_path / "colour.jpg"
    Image.fromarray(np.stack([values] * 3, axis=-1)).save(source, quality=95)
    radiograph = read_radiograph(dcmtk("img2dcm", source))
    assert radiograph.pixels.ndim == 2
    assert any("luminance" in step for step in radiograph.handling)
    np.testing.assert_allclose(radiograph.pixels, values / 255.0, atol=0.03)


@pytest.mark.parametrize(
    ("tool", "syntax"),
    [
        ("dcmcjpls", "JPEG-LS Lossless"),
        ("dcmcrle", "RLE Lossless"),
        ("dcmcjpeg", "JPEG Lossless"),
    ],
)
def test_dcmtk_lossless_compressions_decode_exactly(dcmtk, gray_source, tool, syntax):
    path, values = gray_source
    compressed = dcmtk(tool, dcmtk("img2dcm", path, "-i", "BMP"))
    assert pydicom.dcmread(compressed).file_meta.TransferSyntaxUID.name.startswith(syntax)
    radiograph = read_radiograph(compressed)
    expected = (values - values.min()) / float(values.max() - values.min())
    np.testing.assert_allclose(radiograph.pixels, expected, atol=1e-6)


def test_the_patient_and_examination_are_read_from_the_header():
    pixels = (np.random.default_rng(0).random((160, 160)) * 4000).astype(np.uint16)
    data = dicom_bytes(
        pixels,
        PatientID="MRN-0042 ",
        PatientName="DOE^JANE^Q",
        AccessionNumber="ACC-7",
        StudyInstanceUID="1.2.826.0.1.3680043.8.498.1",
        SOPInstanceUID="1.2.826.0.1.3680043.8.498.2",
    )
    identity = read_radiograph(data).identity
    assert identity.patient_id == "MRN-0042"
    assert identity.patient_name == "DOE, JANE Q"
    assert identity.accession_number == "ACC-7"
    assert identity.study_instance_uid == "1.2.826.0.1.3680043.8.498.1"
    assert identity.sop_instance_uid == "1.2.826.0.1.3680043.8.498.2"
    assert read_radiograph(dicom_bytes(pixels)).identity.patient_name == ""

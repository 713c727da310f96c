"""Bad input: each problem becomes its own typed error with words, never a traceback."""

from __future__ import annotations

import zipfile
from io import BytesIO

import numpy as np
import pydicom
import pytest
from pydicom.uid import ComprehensiveSRStorage, ExplicitVRLittleEndian, generate_uid

from boneage import errors
from boneage.io import read_radiograph
from tests.boneage.radiograph_files import dicom_bytes, gradient_image, png_bytes, raw_png

FUZZ = 60
"""Damaged variants per format: enough to hit header, size and pixel-data damage each run."""


def small_jpeg() -> bytes:
    from PIL import Image

    buffer = BytesIO()
    Image.fromarray(gradient_image(peak=255).astype(np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hand.png", png_bytes(gradient_image(peak=255).astype(np.uint8)))
    return buffer.getvalue()


def without_pixels() -> bytes:
    dataset = pydicom.dcmread(BytesIO(dicom_bytes(gradient_image())))
    del dataset.PixelData
    buffer = BytesIO()
    dataset.save_as(buffer)
    return buffer.getvalue()


def test_empty_file_is_refused_as_empty():
    with pytest.raises(errors.EmptyFile, match="empty"):
        read_radiograph(b"")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"Patient: Jane Doe\nBone age: 10 years\n", "a text document"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "a PDF document"),
        (zip_bytes(), "a ZIP archive"),
        (b"GIF89a" + bytes(200), "a GIF image"),
        (b"\x08\x00" + b"\x00\x01\xff" * 100, "of an unknown kind"),
    ],
)
def test_non_images_are_named_in_the_refusal(data, words):
    with pytest.raises(errors.UnsupportedFormat, match=words):
        read_radiograph(data)


@pytest.mark.parametrize(
    "data",
    [
        png_bytes(gradient_image(peak=255).astype(np.uint8))[:300],
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 200,
        small_jpeg()[: len(small_jpeg()) // 2],
        b"\xff\xd8\xff\xe0" + bytes(range(256)),
        dicom_bytes(gradient_image())[:5000],
        b"\x00" * 128 + b"DICM" + bytes(range(256)) * 4,
    ],
    ids=[
        "png-truncated",
        "png-bad-header",
        "jpeg-truncated",
        "jpeg-bad",
        "dicom-truncated",
        "dicom-garbage",
    ],
)
def test_truncated_or_damaged_files_are_corrupt(data):
    with pytest.raises(errors.CorruptImage):
        read_radiograph(data)


def structured_report() -> bytes:
    report = pydicom.Dataset()
    report.SOPClassUID = ComprehensiveSRStorage
    report.SOPInstanceUID = generate_uid()
    report.Modality = "SR"
    report.file_meta = pydicom.dataset.FileMetaDataset()
    report.file_meta.MediaStorageSOPClassUID = report.SOPClassUID
    report.file_meta.MediaStorageSOPInstanceUID = report.SOPInstanceUID
    report.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = BytesIO()
    report.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "words"),
    [(without_pixels(), "holds no pixel data"), (structured_report(), "holds no image")],
    ids=["stripped", "report"],
)
def test_dicom_without_pixel_data_says_it_holds_no_image(data, words):
    with pytest.raises(errors.NoPixelData, match=words):
        read_radiograph(data)


def test_multi_frame_dicom_is_refused_rather_than_guessed():
    stack = np.stack([gradient_image()] * 3)
    with pytest.raises(errors.MultiFrameImage, match="3 images"):
        read_radiograph(dicom_bytes(stack))


def test_png_declaring_a_bomb_is_refused_before_decoding():
    lying = raw_png(gradient_image(peak=255).astype(np.uint8), width=30_000, height=30_000)
    with pytest.raises(errors.ImageTooLarge, match="not decoded"):
        read_radiograph(lying)


def test_dicom_declaring_a_bomb_is_refused_before_decoding():
    dataset = pydicom.dcmread(BytesIO(dicom_bytes(gradient_image())))
    dataset.Rows, dataset.Columns = 40_000, 30_000
    buffer = BytesIO()
    dataset.save_as(buffer)
    with pytest.raises(errors.ImageTooLarge, match="megapixel"):
        read_radiograph(buffer.getvalue())


def test_pixel_limit_is_the_callers_to_set():
    data = png_bytes(gradient_image(peak=255).astype(np.uint8))
    with pytest.raises(errors.ImageTooLarge):
        read_radiograph(data, max_pixels=256 * 200 - 1)
    assert read_radiograph(data, max_pixels=256 * 200).shape == (256, 200)


@pytest.mark.parametrize(("rows", "columns"), [(1, 50_000), (2000, 300)])
def test_absurd_shapes_are_refused(rows, columns):
    with pytest.raises(errors.ImplausibleShape, match=f"{columns} × {rows}"):
        read_radiograph(png_bytes(np.zeros((rows, columns), dtype=np.uint8)))


def test_too_small_to_show_a_hand_is_refused():
    with pytest.raises(errors.ImageTooSmall, match="64 × 64"):
        read_radiograph(png_bytes(np.zeros((64, 64), dtype=np.uint8)))


def test_file_over_the_byte_limit_is_not_read(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png_bytes(gradient_image(peak=255).astype(np.uint8)))
    with pytest.raises(errors.FileTooLarge, match="MB"):
        read_radiograph(path, max_bytes=100)
    with pytest.raises(errors.FileTooLarge):
        read_radiograph(path.read_bytes(), max_bytes=100)


def test_missing_file_and_folder_are_unreadable(tmp_path):
    with pytest.raises(errors.UnreadableFile, match="no file"):
        read_radiograph(tmp_path / "absent.png")
    with pytest.raises(errors.UnreadableFile, match="folder"):
        read_radiograph(tmp_path)


@pytest.mark.parametrize(
    "original",
    [
        png_bytes(gradient_image(peak=65535)),
        small_jpeg(),
        dicom_bytes(gradient_image(), WindowCenter=2000, WindowWidth=1000, PatientAge="010Y"),
    ],
    ids=["png", "jpeg", "dicom"],
)
def test_damaged_bytes_give_a_radiograph_or_a_one_line_input_error_never_a_crash(original):
    rng = np.random.default_rng(7)
    for _ in range(FUZZ):
        damaged = bytearray(original)
        if rng.random() < 0.3:
            del damaged[int(rng.integers(0, len(damaged))) :]
        for position in rng.integers(0, max(len(damaged), 1), size=rng.integers(1, 20)):
            if position < len(damaged):
                damaged[position] = int(rng.integers(0, 256))
        try:
            read_radiograph(bytes(damaged))
        except errors.InputError as error:
            assert str(error) and "\n" not in str(error)

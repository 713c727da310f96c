"""PNG and JPEG reading: bit depths, colour, content sniffing, and the real radiographs."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2gray

from boneage.io import read_radiograph
from tests.boneage.radiograph_files import gradient_image, png_bytes, raw_png
from tests.boneage.real_sample import UNLABELLED_REAL

REAL_XRAYS = UNLABELLED_REAL


def jpeg_bytes(array: np.ndarray) -> bytes:
    buffer = BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def test_8_bit_gray_png_is_scaled_by_255():
    values = gradient_image(peak=255).astype(np.uint8)
    radiograph = read_radiograph(png_bytes(values))
    assert (radiograph.source_format, radiograph.bit_depth) == ("PNG", 8)
    assert radiograph.pixels.dtype == np.float32
    np.testing.assert_allclose(radiograph.pixels, values / 255.0, atol=1e-6)
    assert radiograph.spacing_mm is None and radiograph.sex is None


def test_16_bit_gray_png_keeps_its_precision():
    values = gradient_image(peak=65535)
    radiograph = read_radiograph(png_bytes(values))
    assert radiograph.bit_depth == 16
    np.testing.assert_allclose(radiograph.pixels, values / 65535.0, atol=1e-6)
    assert len(np.unique(radiograph.pixels[0])) == 200


def test_rgb_png_is_reduced_to_luminance_and_says_so():
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, size=(160, 140, 3), dtype=np.uint8)
    radiograph = read_radiograph(png_bytes(colour))
    np.testing.assert_allclose(radiograph.pixels, rgb2gray(colour / 255.0), atol=1e-6)
    assert "RGB reduced to luminance" in radiograph.handling


def test_gray_saved_as_rgb_reads_as_the_same_gray():
    values = gradient_image(peak=255).astype(np.uint8)
    radiograph = read_radiograph(png_bytes(np.stack([values] * 3, axis=-1)))
    np.testing.assert_allclose(radiograph.pixels, values / 255.0, atol=1e-5)


def test_16_bit_rgb_png_is_read_and_its_precision_loss_stated():
    values = gradient_image(peak=65535)
    radiograph = read_radiograph(raw_png(np.stack([values] * 3, axis=-1)))
    assert radiograph.bit_depth == 16
    np.testing.assert_allclose(radiograph.pixels, values / 65535.0, atol=1 / 255)
    assert any("8 bits per channel" in step for step in radiograph.handling)


def test_gray_alpha_png_drops_transparency():
    values = gradient_image(peak=255).astype(np.uint8)
    buffer = BytesIO()
    Image.fromarray(values).convert("LA").save(buffer, format="PNG")
    radiograph = read_radiograph(buffer.getvalue())
    np.testing.assert_allclose(radiograph.pixels, values / 255.0, atol=1e-6)
    assert "transparency channel dropped" in radiograph.handling


@pytest.mark.parametrize("channels", [1, 3])
def test_jpeg_gray_and_colour_are_read_close_to_the_original(channels):
    values = gradient_image(peak=255).astype(np.uint8)
    array = values if channels == 1 else np.stack([values] * 3, axis=-1)
    radiograph = read_radiograph(jpeg_bytes(array))
    assert (radiograph.source_format, radiograph.bit_depth) == ("JPEG", 8)
    np.testing.assert_allclose(radiograph.pixels, values / 255.0, atol=0.03)


def test_path_str_and_bytes_give_the_same_radiograph(tmp_path):
    data = png_bytes(gradient_image(peak=255).astype(np.uint8))
    path = tmp_path / "scan.dcm"
    path.write_bytes(data)
    from_path, from_str, from_bytes = (read_radiograph(s) for s in (path, str(path), data))
    assert from_path.source_format == "PNG"
    np.testing.assert_array_equal(from_path.pixels, from_bytes.pixels)
    np.testing.assert_array_equal(from_str.pixels, from_bytes.pixels)


@pytest.mark.skipif(not REAL_XRAYS.is_dir(), reason="BONEAGE_REAL_XRAYS is not set")
@pytest.mark.parametrize("index", range(10))
def test_every_real_radiograph_is_read(index):
    path = REAL_XRAYS / f"{index}.png"
    radiograph = read_radiograph(path)
    with Image.open(path) as image:
        columns, rows = image.size
    assert radiograph.shape == (rows, columns)
    assert 0.0 <= radiograph.pixels.min() < 0.2 and 0.8 < radiograph.pixels.max() <= 1.0


def _upright() -> np.ndarray:
    """An image no turn or mirror leaves unchanged: bright in its top-left corner only."""
    values = np.full((240, 160), 30, dtype=np.uint8)
    values[:60, :40] = 230
    return values


# What a camera stores for each EXIF orientation: the upright image turned back (PIL's
# transposes, inverse of the one the tag asks a viewer to apply).
_STORED = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
}


@pytest.mark.parametrize(
    ("orientation", "words"),
    [
        (3, "turned 180°"),
        (6, "turned 90° clockwise"),
        (8, "turned 90° anticlockwise"),
        (2, "mirrored left to right"),
    ],
)
def test_an_exif_orientation_is_applied_and_said(orientation, words):
    """A JPEG with EXIF orientation 3 or 8, upright in any viewer, was once read upside down or
    on its side (and rejected as not a hand)."""
    stored = Image.fromarray(_upright()).transpose(_STORED[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = BytesIO()
    stored.save(buffer, format="JPEG", quality=95, exif=exif)
    radiograph = read_radiograph(buffer.getvalue())
    assert radiograph.shape == (240, 160)
    np.testing.assert_allclose(radiograph.pixels, _upright() / 255.0, atol=0.08)
    assert f"EXIF orientation {orientation} applied: the image was {words}" in " ".join(
        radiograph.handling
    )


def test_an_upright_exif_orientation_changes_nothing_and_says_nothing():
    exif = Image.Exif()
    exif[0x0112] = 1
    buffer = BytesIO()
    Image.fromarray(_upright()).save(buffer, format="JPEG", quality=95, exif=exif)
    radiograph = read_radiograph(buffer.getvalue())
    assert not any("EXIF" in words for words in radiograph.handling)

"""PNG and JPEG radiographs through Pillow, restricted to those two formats.

Pillow opens lazily: ``Image.open`` reads only the header, so the dimensions are checked against
our limits before ``load()`` decodes a pixel (Pillow's own ``DecompressionBombError`` fires only
above twice ``MAX_IMAGE_PIXELS``, far beyond a radiograph). Colour is reduced to luminance with
scikit-image's ``rgb2gray`` (ITU-R BT.709 weights); an exported radiograph saved as RGB has three
equal channels, so the weights change nothing there. A camera's or phone's EXIF orientation is
applied, as every viewer applies it, and listed among the corrections.
"""

from __future__ import annotations

import warnings
from io import BytesIO

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from skimage.color import rgb2gray

from boneage.errors import CorruptImage, ImageTooLarge, technical_detail
from boneage.io.limits import Limits, check_dimensions
from boneage.radiograph import Radiograph

_PNG_BIT_DEPTH_OFFSET = 24
"""Byte of the PNG IHDR chunk holding the bit depth per channel (PNG spec §11.2.2)."""


def open_raster(data: bytes, source_format: str, limits: Limits) -> Image.Image:
    """The PNG or JPEG image with only its header read, its dimensions checked against
    ``limits``; no pixel is decoded (``load()`` does that)."""
    name = _name(source_format)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(BytesIO(data), formats=[source_format])
        except Image.DecompressionBombError as error:
            raise ImageTooLarge(
                f"The {name} image declares far more pixels than the"
                f" {limits.max_pixels / 1e6:.0f}-megapixel safety limit; it was not decoded."
            ) from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise CorruptImage(
                f"The file starts like a {name} image but its header is damaged"
                f" ({technical_detail(error)})."
            ) from error
    columns, rows = image.size
    check_dimensions(rows, columns, limits)
    return image


def read_raster(data: bytes, source_format: str, limits: Limits) -> Radiograph:
    """Decode PNG or JPEG ``data`` into a :class:`Radiograph` scaled by its bit depth to 0..1."""
    name = _name(source_format)
    image = open_raster(data, source_format, limits)
    bit_depth = _bit_depth(data, image, source_format)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise CorruptImage(
                f"The {name} image is truncated or damaged and cannot be decoded"
                f" ({technical_detail(error)})."
            ) from error
    image, turned = _upright(image)
    pixels, handling = _to_gray(image, bit_depth)
    return Radiograph(
        pixels=pixels.astype(np.float32),
        source_format=name,
        bit_depth=bit_depth,
        handling=(*turned, *handling),
    )


_ORIENTATION_WORDS = {
    2: "mirrored left to right",
    3: "turned 180°",
    4: "mirrored top to bottom",
    5: "mirrored across its diagonal (transposed)",
    6: "turned 90° clockwise",
    7: "mirrored across its other diagonal (transversed)",
    8: "turned 90° anticlockwise",
}
"""What each EXIF Orientation value (TIFF 6.0 tag 274) asks a viewer to do, in words."""


def _upright(image: Image.Image) -> tuple[Image.Image, tuple[str, ...]]:
    """The image as a viewer shows it: its EXIF orientation applied (Pillow's
    ``ImageOps.exif_transpose``), and said, since a mirror turns a left hand into a right one."""
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    words = _ORIENTATION_WORDS.get(orientation)
    if words is None:
        return image, ()
    return ImageOps.exif_transpose(image), (
        f"EXIF orientation {orientation} applied: the image was {words}, as a viewer shows it",
    )


def _name(source_format: str) -> str:
    return "PNG" if source_format == "PNG" else "JPEG"


def _bit_depth(data: bytes, image: Image.Image, source_format: str) -> int:
    """Stored bits per sample: PNG from its IHDR chunk, JPEG from its frame header."""
    if source_format == "PNG":
        return int(data[_PNG_BIT_DEPTH_OFFSET])
    return int(getattr(image, "bits", 8))


def _to_gray(image: Image.Image, bit_depth: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Luminance in 0..1, dividing by the largest value the decoded samples can hold."""
    handling: list[str] = []
    mode = image.mode
    if mode in ("P", "PA"):
        image = image.convert("RGBA" if mode == "PA" else "RGB")
        handling.append("palette colours expanded")
        mode = image.mode
    if mode in ("LA", "RGBA", "La", "RGBa"):
        image = image.convert(mode[:-1].upper())
        handling.append("transparency channel dropped")
        mode = image.mode
    if mode == "CMYK":
        image = image.convert("RGB")
        handling.append("CMYK converted to RGB")
        mode = image.mode
    if mode == "1":
        image = image.convert("L")
        mode = "L"
    array = np.asarray(image)
    if mode == "RGB":
        if bit_depth > 8:
            handling.append(f"{bit_depth}-bit colour read at 8 bits per channel (decoder limit)")
        handling.append("RGB reduced to luminance")
        return rgb2gray(array.astype(np.float64) / 255.0), tuple(handling)
    full_scale = 255.0 if array.dtype == np.uint8 else float(2**bit_depth - 1)
    if mode in ("I", "F") and bit_depth <= 8:
        full_scale = 255.0
    return np.clip(array.astype(np.float64) / full_scale, 0.0, 1.0), tuple(handling)

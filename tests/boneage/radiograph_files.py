"""Radiograph files for tests, written at test time: pydicom DICOM, Pillow PNG, a raw PNG encoder.

Helpers rather than fixtures because tests parametrize over them; the fixtures in conftest.py
wrap them with a temporary folder.
"""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    RLELossless,
    generate_uid,
)


def gradient_image(rows: int = 256, columns: int = 200, peak: int = 4095) -> np.ndarray:
    """Stored values rising left to right from 0 to ``peak``, the same in every row (uint16)."""
    return np.tile(np.linspace(0, peak, columns), (rows, 1)).round().astype(np.uint16)


def png_bytes(array: np.ndarray) -> bytes:
    """PNG encoding of a uint8 (gray or RGB) or uint16 (gray) array, by Pillow."""
    buffer = BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def dicom_bytes(
    stored: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    syntax: str = ExplicitVRLittleEndian,
    part10: bool = True,
    **tags: object,
) -> bytes:
    """A DX radiograph written by pydicom with the given stored values and header tags.

    ``part10=False`` writes the bare data set (no 128-byte preamble, no "DICM", no file meta) in
    implicit VR little endian, as some older systems do.
    """
    dataset = Dataset()
    dataset.SOPClassUID = DigitalXRayImageStorageForPresentation
    dataset.SOPInstanceUID = generate_uid()
    dataset.Modality = "DX"
    dataset.set_pixel_data(stored, photometric_interpretation=photometric, bits_stored=bits_stored)
    for keyword, value in tags.items():
        setattr(dataset, keyword, value)
    buffer = BytesIO()
    if not part10:
        dataset.file_meta = FileMetaDataset()
        dataset.save_as(buffer, implicit_vr=True, little_endian=True)
        return buffer.getvalue()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if syntax == RLELossless:
        dataset.compress(RLELossless)
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, payload, CRC-32 over type and payload (PNG spec §5.3)."""
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def raw_png(array: np.ndarray, *, width: int | None = None, height: int | None = None) -> bytes:
    """PNG written by hand: 16-bit RGB (which Pillow cannot write) and lying headers.

    ``array`` is (H, W) or (H, W, 3), uint8 or uint16; ``width``/``height`` override the header
    to declare dimensions other than the data's.
    """
    depth = 16 if array.dtype == np.uint16 else 8
    colour_type = 2 if array.ndim == 3 else 0
    rows = array.astype(f">u{depth // 8}").reshape(array.shape[0], -1).tobytes()
    stride = len(rows) // array.shape[0]
    lines = (rows[i * stride : (i + 1) * stride] for i in range(array.shape[0]))
    scanlines = b"".join(b"\x00" + line for line in lines)
    header = struct.pack(
        ">IIBBBBB",
        width or array.shape[1],
        height or array.shape[0],
        depth,
        colour_type,
        0,
        0,
        0,
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(scanlines))
        + png_chunk(b"IEND", b"")
    )

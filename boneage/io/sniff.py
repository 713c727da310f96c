"""Which format a file is, from its first bytes; never from its name or a browser's content type.

Magic numbers: PNG (ISO/IEC 15948, 8-byte signature), JPEG (SOI marker FF D8 FF), DICOM Part 10
("DICM" after a 128-byte preamble, PS3.10 §7.1). A DICOM data set without the Part 10 preamble
(as some older systems write) starts directly with a little-endian tag of group 0002 or 0008 and
is accepted when pydicom can read it. Anything else gets a name in words, so that a clinician who
uploaded a PDF report is told so.
"""

from __future__ import annotations

import warnings
from io import BytesIO

import pydicom

from boneage.errors import EmptyFile, UnsupportedFormat

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_OTHER_KINDS: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"RIFF", "a RIFF file (WebP image, WAV or AVI)"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 codestream"),
    (b"<?xml", "an XML document"),
    (b"{", "a JSON or text document"),
)
_PREAMBLE_LESS_GROUPS = (b"\x02\x00", b"\x08\x00")
_ACCEPTED = "PNG, JPEG or DICOM"


def sniff_format(data: bytes) -> str:
    """Return "PNG", "JPEG" or "DICOM" for ``data``, else raise a typed error saying what it is."""
    if not data:
        raise EmptyFile("The file is empty (0 bytes); nothing was uploaded or it was cut off.")
    if data.startswith(_PNG):
        return "PNG"
    if data.startswith(_JPEG):
        return "JPEG"
    if data[128:132] == b"DICM":
        return "DICOM"
    if data[:2] in _PREAMBLE_LESS_GROUPS and _is_preamble_less_dicom(data):
        return "DICOM"
    raise UnsupportedFormat(f"This file is {_describe(data)}, not a {_ACCEPTED} radiograph.")


def _is_preamble_less_dicom(data: bytes) -> bool:
    """Whether pydicom, forced, finds a plausible image header (not just any parsable bytes)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            header = pydicom.dcmread(BytesIO(data), force=True, stop_before_pixels=True)
    except Exception:  # pydicom's parser raises many types on bytes that are not DICOM
        return False
    return "SOPClassUID" in header or "Rows" in header


def _describe(data: bytes) -> str:
    """Name the kind of a rejected file in words."""
    for magic, kind in _OTHER_KINDS:
        if data.startswith(magic):
            return kind
    return "of an unknown kind" if b"\x00" in data[:4096] else "a text document"

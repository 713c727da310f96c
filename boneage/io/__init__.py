"""Reading radiographs: PNG, JPEG and DICOM, sniffed from content, under safety limits.

``read_radiograph`` is the one entry point (the web app, the CLI and the datasets call it). The
format is decided from the bytes (:mod:`boneage.io.sniff`), never the file name; sizes are
checked before decoding (:mod:`boneage.io.limits`); every problem is a typed
:class:`~boneage.errors.InputError` with a message a clinician can read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from boneage.errors import FileTooLarge, UnreadableFile
from boneage.io.dicom import DicomFacts, read_dicom, read_dicom_facts
from boneage.io.limits import MAX_BYTES, MAX_PIXELS, MIN_SIDE_PX, Limits
from boneage.io.raster import open_raster, read_raster
from boneage.io.sniff import sniff_format
from boneage.radiograph import Radiograph

__all__ = [
    "MAX_BYTES",
    "MAX_PIXELS",
    "MIN_SIDE_PX",
    "FileHeader",
    "read_file_header",
    "read_radiograph",
    "sniff_format",
]


@dataclass(frozen=True)
class FileHeader:
    """What a file's header says, read without decoding a pixel: its format and, for DICOM,
    the patient and geometry facts of its tags (None for PNG and JPEG, which carry none)."""

    source_format: str
    facts: DicomFacts | None = None


def read_file_header(
    data: bytes, *, max_pixels: int = MAX_PIXELS, min_side: int = MIN_SIDE_PX
) -> FileHeader:
    """The header of the radiograph in ``data``, under the limits ``read_radiograph`` applies
    to the header (format, dimensions, frames), so that the web process can show a file's tags
    without decoding its pixels. A file whose pixels are damaged passes here and is refused by
    ``read_radiograph`` when it is uploaded."""
    limits = Limits(max_pixels=max_pixels, max_bytes=len(data), min_side=min_side)
    source_format = sniff_format(data)
    if source_format == "DICOM":
        return FileHeader("DICOM", read_dicom_facts(data, limits))
    open_raster(data, source_format, limits).close()
    return FileHeader(source_format)


def read_radiograph(
    source: Path | str | bytes,
    *,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
    min_side: int = MIN_SIDE_PX,
) -> Radiograph:
    """Read a radiograph from a path or from its bytes.

    ``max_pixels`` bounds rows × columns × frames as declared in the header, ``max_bytes`` the
    file size, ``min_side`` the shorter side in pixels. Raises an
    :class:`~boneage.errors.InputError` subclass for anything that is not one usable image.
    """
    limits = Limits(max_pixels=max_pixels, max_bytes=max_bytes, min_side=min_side)
    data = source if isinstance(source, bytes) else _read_bytes(Path(source), max_bytes)
    if len(data) > max_bytes:
        raise FileTooLarge(_too_large_words(len(data), max_bytes))
    source_format = sniff_format(data)
    if source_format == "DICOM":
        return read_dicom(data, limits)
    return read_raster(data, source_format, limits)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing one over ``max_bytes`` from its size before reading it."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FileTooLarge(_too_large_words(size, max_bytes))
        return path.read_bytes()
    except FileNotFoundError as error:
        raise UnreadableFile(f"There is no file at {path}.") from error
    except IsADirectoryError as error:
        raise UnreadableFile(f"{path} is a folder, not an image file.") from error
    except OSError as error:
        raise UnreadableFile(f"The file {path} cannot be opened ({error.strerror}).") from error


def _too_large_words(size: int, max_bytes: int) -> str:
    return (
        f"The file is {size / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit for one"
        " radiograph; it was not read."
    )

"""Typed errors of the engine.

Each is raised where the problem is detected and carries a message a clinician can read; the
edges (CLI, HTTP API, report page) show that message and never a traceback.
"""

from __future__ import annotations


class BoneAgeError(Exception):
    """Base of every error the engine raises on purpose."""


class InputError(BoneAgeError):
    """The uploaded file cannot be used as a radiograph."""


class EmptyFile(InputError):
    """The file has no bytes."""


class UnsupportedFormat(InputError):
    """The bytes are not PNG, JPEG or DICOM (sniffed from content, never from the name)."""


class CorruptImage(InputError):
    """The format was recognised but the pixels cannot be decoded (truncated, damaged)."""


class NoPixelData(InputError):
    """A DICOM file without an image in it (a report, a structured document, a header only)."""


class MultiFrameImage(InputError):
    """More than one frame: a hand radiograph is one image, and we will not guess which frame."""


class ImageTooLarge(InputError):
    """Pixel count or dimensions over the safety limit (decompression bombs, absurd sizes)."""


class ImageTooSmall(InputError):
    """Too few pixels to show the bones of a hand."""


class MissingSex(BoneAgeError):
    """Both estimates are sex-specific; sex was neither given nor in the file's tags."""


class ModelUnavailable(BoneAgeError):
    """A model or reference table could not be loaded from the registry."""


class ImplausibleShape(InputError):
    """Width and height in a ratio no hand radiograph has (a 1 × 50000 strip, a line of pixels)."""


class FileTooLarge(ImageTooLarge):
    """More bytes than the reader accepts; refused before any decoding (a kind of
    :class:`ImageTooLarge`, so that edges treating that as "too large" need no new case)."""


class UnreadableFile(InputError):
    """The file could not be opened at all (missing, a folder, no permission)."""


class DatasetError(BoneAgeError):
    """A training or evaluation dataset on disk is malformed: unknown label columns, a missing
    image, a value that is not an age or a sex."""


def technical_detail(error: BaseException, limit: int = 160) -> str:
    """A library's own error message on one line and shortened, to follow our words in brackets
    (the clinician reads our sentence; support reads the detail)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"

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

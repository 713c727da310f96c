"""Typed errors of the clinic, in the engine's hierarchy so the edges treat them alike.

Every ``InputError`` is the uploader's to fix (a form error, HTTP 400); the others are states of
the workflow that a page or an API answers with a clear sentence.
"""

from __future__ import annotations

import re

from boneage.errors import BoneAgeError, InputError


def error_code(error: BaseException) -> str:
    """``UploadTooLarge`` → ``upload_too_large``: a stable code clients and logs can branch on."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


class UploadTooLarge(InputError):
    """The file is larger than ``BONEAGE_MAX_UPLOAD_BYTES``."""


class InvalidStudyData(InputError):
    """The data given with the file are inconsistent (an exam before birth, a negative age)."""


class TagContradiction(InvalidStudyData):
    """A value given with the file contradicts the file's own DICOM tag (``fields``: the fields
    that do), and was not named in ``override_tags``."""

    def __init__(self, message: str, *, fields: tuple[str, ...]) -> None:
        super().__init__(message)
        self.fields = fields


class SubmissionConflict(BoneAgeError):
    """An Idempotency-Key, accession number or SOP Instance UID already names a study of another
    image or sex."""


class IdempotencyKeyReused(SubmissionConflict):
    """An Idempotency-Key already names a study sent with another image or sex: the key was
    reused for another request, which is the client's error (422), not a retry."""


class AlreadySigned(BoneAgeError):
    """The report already carries a review; a second sign-off would hide the first."""


class ConfirmationRequired(BoneAgeError):
    """An estimate that deserves a second look (a flagged study, or an estimate outside the
    other path's interval) was to be signed as shown without confirming that look."""


class ReviewChoiceRequired(BoneAgeError):
    """A sign-off names neither an estimate shown on the report nor a corrected bone age."""


class ReviewReasonRequired(BoneAgeError):
    """A corrected bone age needs the reason for the correction."""


class StorageUnavailable(BoneAgeError):
    """The media storage refused the upload (disk full, read-only, bucket unreachable): nothing
    was stored, and the same upload can be sent again once it is back."""


class ReportNotReady(BoneAgeError):
    """The study has no report yet (queued, running or failed)."""

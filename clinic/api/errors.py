"""The engine's and the clinic's typed errors as HTTP answers, with the error's own words.

Every error body is ``{"detail": "<sentence>", "code": "<snake_case error name>"}`` (DRF's shape),
or DRF's ``{"field": ["message", …]}`` for a field that failed validation. The status says whose
problem it is: 413 a file over the size limits, 415 bytes that are not a usable PNG, JPEG or DICOM
image, 400 data that contradict each other, 409 a workflow state (a report not ready yet), 503 a
database that does not answer (with Retry-After).
"""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from boneage.errors import (
    BoneAgeError,
    CorruptImage,
    EmptyFile,
    ImageTooLarge,
    MultiFrameImage,
    NoPixelData,
    UnsupportedFormat,
)
from clinic.errors import (
    ReportNotReady,
    StorageUnavailable,
    SubmissionConflict,
    UploadTooLarge,
    error_code,
)
from clinic.middleware import RETRY_AFTER_S, UNAVAILABLE

STATUS_OF_ERROR: tuple[tuple[type[BoneAgeError], int], ...] = (
    (UploadTooLarge, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE),
    (ImageTooLarge, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE),
    (UnsupportedFormat, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE),
    (CorruptImage, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE),
    (EmptyFile, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE),
    (NoPixelData, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE),
    (MultiFrameImage, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE),
    (ReportNotReady, status.HTTP_409_CONFLICT),
    (SubmissionConflict, status.HTTP_409_CONFLICT),
    (StorageUnavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
)
"""First match wins; any other engine or clinic error is the caller's to fix: 400."""


def status_of(error: BoneAgeError) -> int:
    """The HTTP status of a typed error (see :data:`STATUS_OF_ERROR`)."""
    for error_type, code in STATUS_OF_ERROR:
        if isinstance(error, error_type):
            return code
    return status.HTTP_400_BAD_REQUEST


def api_exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus the typed errors and a database outage (503 with Retry-After: the
    client should try again); anything else stays a 500 (a bug to see, not hide)."""
    if isinstance(error, BoneAgeError):
        code = status_of(error)
        retry = {"Retry-After": str(RETRY_AFTER_S)} if code == 503 else None
        return Response(
            {"detail": str(error), "code": error_code(error)}, status=code, headers=retry
        )
    if isinstance(error, OperationalError | InterfaceError):
        return Response(
            {"detail": UNAVAILABLE, "code": "database_unavailable"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    response = exception_handler(error, context)
    data = response.data if response is not None else None
    detail = data.get("detail") if isinstance(data, dict) else None
    if isinstance(detail, exceptions.ErrorDetail):
        response.data["code"] = detail.code
    return response

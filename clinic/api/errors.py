"""The engine's and the clinic's typed errors as HTTP answers, with the error's own words.

Every error body is ``{"detail": "<sentence>", "code": "<snake_case error name>"}`` (DRF's shape),
or DRF's ``{"field": ["message", …]}`` for a field that failed validation. The status says whose
problem it is: 413 a file over the size limits, 415 bytes that are not a usable PNG, JPEG or DICOM
image, 400 data that contradict each other, 409 a workflow state (a report not ready yet) or an
accession number repeated with another image, 422 an Idempotency-Key reused for another request
(as the IETF Idempotency-Key draft asks), 503 a database that does not answer (with Retry-After).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
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
    IdempotencyKeyReused,
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
    (IdempotencyKeyReused, status.HTTP_422_UNPROCESSABLE_ENTITY),
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


def _body_refusal(error: Exception) -> tuple[int, str] | None:
    """The status and words of a request body Django refused while the view read it (over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``, ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` or
    ``DATA_UPLOAD_MAX_NUMBER_FILES``), else None."""
    if isinstance(error, RequestDataTooBig):
        limit_mib = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2**20
        return status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, (
            f"The request's text fields are over the {limit_mib:g} MiB the server reads; send "
            "the image as a file part and keep the other fields short. Nothing was stored."
        )
    if isinstance(error, TooManyFieldsSent):
        return status.HTTP_400_BAD_REQUEST, (
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} form fields; an "
            "upload takes one image and the few fields docs/api.md lists. Nothing was stored."
        )
    if isinstance(error, TooManyFilesSent):
        return status.HTTP_400_BAD_REQUEST, (
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} file parts; send "
            "one image per request. Nothing was stored."
        )
    return None


def api_exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus the typed errors, a request body Django refused, and a database
    outage (503 with Retry-After: the client should try again); anything else stays a 500 (a
    bug to see, not hide), answered in JSON by :mod:`clinic.error_pages`."""
    if (refusal := _body_refusal(error)) is not None:
        code, words = refusal
        return Response({"detail": words, "code": error_code(error)}, status=code)
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

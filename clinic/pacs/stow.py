"""STOW-RS (DICOMweb store, PS3.18 10.5): ``POST /api/dicomweb/studies`` with Bearer token.

The token's user files the studies, so the token names the institution. The body is
``multipart/related; type="application/dicom"``, one DICOM file per part; each is taken or refused
on its own by :func:`clinic.pacs.receiving.receive`. The reply is a DICOM JSON data set
(``application/dicom+json``): the ReferencedSOPSequence (0008,1199) of the instances taken, the
FailedSOPSequence (0008,1198) of the others, each with its FailureReason (0008,1197) and the
reason in words as ErrorComment (0000,0902). HTTP 200 when every instance was taken, 202 when
some were, 409 when none was (PS3.18 table 10.5.3-2), 400 for a body that is not multipart.

The multipart body is split by hand (a few lines on the boundary) rather than by the standard
library's ``email`` parser, which is made for mail and may rewrite the line endings inside a binary
part.
"""

from __future__ import annotations

import json
import re
import warnings
from io import BytesIO
from typing import Any

import pydicom
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.request import Request

from clinic.api.apis import ApiView
from clinic.pacs import receiving


class MultipartRelatedParser(BaseParser):
    """``multipart/related`` into the list of its parts' bytes."""

    media_type = "multipart/related"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        match = re.search(r'boundary="?([^";]+)"?', media_type or "")
        if match is None:
            raise ParseError("The multipart/related Content-Type names no boundary.")
        limit = settings.BONEAGE_MAX_UPLOAD_BYTES * 4
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise ParseError(
                f"The request is larger than {limit / 2**20:.0f} MiB; send fewer files."
            )
        return split_parts(body, match.group(1).encode())


def split_parts(body: bytes, boundary: bytes) -> list[bytes]:
    """The content of each part between ``--boundary`` lines (RFC 2046 5.1.1)."""
    parts = []
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        headers, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise ParseError("A part of the multipart body has no blank line after its headers.")
        parts.append(content.removesuffix(b"\r\n"))
    if not parts:
        raise ParseError("The multipart body holds no part.")
    return parts


def _element(vr: str, value: Any) -> dict[str, Any]:
    return {"vr": vr, "Value": [value]}


class StowApi(ApiView):
    """``POST /api/dicomweb/studies``: store hand radiographs as studies (see the module)."""

    parser_classes = [MultipartRelatedParser]

    @extend_schema(exclude=True)  # DICOMweb's own contract (PS3.18), documented in docs/dicom.md
    def post(self, request: Request) -> HttpResponse:
        stored, failed = [], []
        for data in request.data:
            dataset, uids = _read(data)
            try:
                if dataset is None:
                    raise receiving.Refused(
                        "This part is not a DICOM file that can be read; nothing was stored."
                    )
                receiving.receive(dataset=dataset, user=request.user, data=data)
            except receiving.Refused as refused:
                failed.append({**uids, "00081197": _element("US", refused.status),
                               "00000902": _element("LO", refused.reason)})  # fmt: skip
            else:
                stored.append(uids)
        reply: dict[str, Any] = {}
        if stored:
            reply["00081199"] = {"vr": "SQ", "Value": stored}
        if failed:
            reply["00081198"] = {"vr": "SQ", "Value": failed}
        status = 200 if not failed else 202 if stored else 409
        return HttpResponse(json.dumps(reply), status=status, content_type="application/dicom+json")


def _read(data: bytes) -> tuple[pydicom.Dataset | None, dict[str, Any]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            dataset = pydicom.dcmread(BytesIO(data))
        uids = {
            "00081150": _element("UI", str(dataset.SOPClassUID)),
            "00081155": _element("UI", str(dataset.SOPInstanceUID)),
        }
    except Exception:  # noqa: BLE001 - pydicom raises many kinds on damaged bytes
        return None, {}
    return dataset, uids

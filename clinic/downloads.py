"""Stored files as HTTP answers, after the views have checked who may read them.

Django streams the file itself by default (the embedded run, the tests). Behind the deployment's
reverse proxy, ``BONEAGE_MEDIA_ACCEL_PREFIX`` (e.g. ``/protected-media/``, an ``internal``
location of nginx aliased to the media folder) makes the answer an ``X-Accel-Redirect`` instead:
nginx sends the bytes, the web process is free at once, and the media folder is still never
reachable without the institution check the view made.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, HttpResponse


def file_response(stored: Any, *, download_name: str | None = None) -> HttpResponse:
    """The stored file ``stored`` (a ``FieldFile``); ``download_name`` makes it an attachment."""
    name = PurePosixPath(stored.name).name
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if name.endswith(".dcm"):
        content_type = "application/dicom"
    prefix = settings.BONEAGE_MEDIA_ACCEL_PREFIX
    if not prefix:
        return FileResponse(
            stored.open("rb"),
            content_type=content_type,
            as_attachment=download_name is not None,
            filename=download_name or name,
        )
    response = HttpResponse(content_type=content_type)
    response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(stored.name)
    disposition = "attachment" if download_name else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{download_name or name}"'
    return response

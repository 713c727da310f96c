"""Every answer of the API under ``/api/`` that is an error is the documented JSON
``{detail, code}``, including those Django gives before a view runs: a body over its limits, an
unknown URL, a method not allowed, a server error."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rest_framework.test import APIClient

from clinic.models import Study

LIST = "/api/v1/studies/"


def _is_error(response: Any, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    body = response.json()
    assert body["code"] == code, body
    assert len(body["detail"]) > 20, body
    return body


def _image() -> io.BytesIO:
    image = io.BytesIO(b"\x89PNG\r\n\x1a\n")
    image.name = "hand.png"
    return image


def test_a_text_field_over_the_memory_limit_is_413_in_json(api: APIClient, settings: Any):
    """A 5 MiB text field once got Django's HTML 400 page."""
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = api.post(LIST, {"image": _image(), "patient_name": big}, format="multipart")
    body = _is_error(response, 413, "request_data_too_big")
    assert "MiB" in body["detail"]
    assert not Study.objects.exists()


def test_too_many_fields_is_400_in_json(api: APIClient, settings: Any):
    fields = {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 500)}
    response = api.post(LIST, {"image": _image(), **fields}, format="multipart")
    _is_error(response, 400, "too_many_fields_sent")


def test_too_many_file_parts_is_400_in_json(api: APIClient, settings: Any):
    files = {f"image{i}": _image() for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 50)}
    response = api.post(LIST, files, format="multipart")
    _is_error(response, 400, "too_many_files_sent")


@pytest.mark.parametrize("path", ["/api/v2/studies/", "/api/v1/studies/abc/", "/api/nothing"])
def test_an_unknown_api_url_is_404_in_json(api: APIClient, path: str):
    _is_error(api.get(path), 404, "not_found")


def test_a_method_not_allowed_is_405_in_json(api: APIClient):
    _is_error(api.delete(LIST), 405, "method_not_allowed")


def test_a_server_error_under_the_api_is_500_in_json(token: str, monkeypatch: Any):
    from clinic.api import apis

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(apis, "study_get", broken)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    _is_error(client.get(f"{LIST}1/"), 500, "server_error")


def test_the_pages_keep_their_html_error_pages(client: Any, user: Any):
    client.force_login(user)
    response = client.get("/studies/999999/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")

"""The site's error answers (Django's ``handler400/403/404/500``): HTML on the pages, the API's
``{detail, code}`` JSON under ``/api/``.

Django answers these before or after a view runs (a URL no route matches, an exception no view
caught), so the API's own exception handler never sees them; a client of the API must still get
the documented shape, never an HTML page.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _api_error(status: int, detail: str, code: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _api_error(400, "The request was refused as malformed or unsafe.", "bad_request")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _api_error(403, "You do not have permission to do this.", "permission_denied")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _api_error(
            404,
            "There is no such API resource; the endpoints are listed at /api/docs/.",
            "not_found",
        )
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return _api_error(
            500,
            "The server failed on an internal error; it was logged for the administrators. Send "
            "the request again later: with the same Idempotency-Key, an upload that was stored "
            "returns its study.",
            "server_error",
        )
    return defaults.server_error(request)

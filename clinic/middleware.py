"""The clinic's middleware: the content security policy, and a database outage as a 503.

Django 5.2 has no CSP setting of its own (it arrives in 6.0) and one header is all the clinic
needs, so that is a few lines rather than django-csp: the pages load only their own scripts,
styles and images, which also keeps a hospital network's traffic inside the hospital.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

UNAVAILABLE = (
    "The clinic's database is not answering: this request was not completed. Try again in a "
    "minute; nothing already stored is lost."
)
RETRY_AFTER_S = 30


class ContentSecurityPolicyMiddleware:
    """Production's ``Content-Security-Policy`` header (``BONEAGE_CONTENT_SECURITY_POLICY``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault(
            "Content-Security-Policy", settings.BONEAGE_CONTENT_SECURITY_POLICY
        )
        return response


class DatabaseUnavailableMiddleware:
    """A page whose database connection fails answers 503 with the reason and a Retry-After,
    not a server error: PostgreSQL restarting for a minute is an outage to wait out, not a bug.
    (The REST API does the same in its exception handler.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, error: Exception) -> HttpResponse | None:
        if not isinstance(error, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable: %s %s", request.method, type(error).__name__)
        response = HttpResponse(UNAVAILABLE, status=503, content_type="text/plain")
        response["Retry-After"] = str(RETRY_AFTER_S)
        return response

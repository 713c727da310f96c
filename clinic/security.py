"""The Content-Security-Policy header of production (``BONEAGE_CONTENT_SECURITY_POLICY``).

Django 5.2 has no CSP setting of its own (it arrives in 6.0) and one header is all the clinic
needs, so this is a few lines rather than django-csp: the pages load only their own scripts,
styles and images, which also keeps a hospital network's traffic inside the hospital.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault(
            "Content-Security-Policy", settings.BONEAGE_CONTENT_SECURITY_POLICY
        )
        return response

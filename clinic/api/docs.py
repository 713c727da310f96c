"""The API's own description: the OpenAPI 3 schema and a browsable page of it.

The page is drf-spectacular's Swagger UI with its JavaScript and CSS from drf-spectacular-sidecar,
served as static files by this app: hospital networks often block CDNs, and a page that loads
nothing from outside works offline too. The page's start-up script is served from its own URL
(``/api/docs/?script=``, drf-spectacular's split view) rather than inline, so that production's
content security policy (``script-src 'self'``, no ``'unsafe-inline'``) lets it run.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.settings import patched_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response

TITLE = "Bone-age clinic API"


class SchemaApi(SpectacularAPIView):
    """``/api/schema/``: the OpenAPI 3 document (YAML; JSON with ``?format=json``)."""

    custom_settings = {
        "TITLE": TITLE,
        "DESCRIPTION": (
            "Upload hand radiographs and read their bone-age reports as JSON or FHIR R4 "
            "(LOINC 85151-9). Authenticate with `Authorization: Bearer <token>` "
            "(`manage.py create_api_token USERNAME`). See docs/api.md."
        ),
        "VERSION": "1.0.0",
        "COMPONENT_SPLIT_REQUEST": True,
    }

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class DocsPage(SpectacularSwaggerSplitView):
    """``/api/docs/``: Swagger UI of the schema, every asset and script served by this site."""

    url_name = "api:schema"
    title = TITLE

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The asset URLs are resolved inside get(), so the patch covers them.
        with patched_settings({"SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR"}):
            return super().get(request, *args, **kwargs)

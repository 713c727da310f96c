"""``Authorization: Bearer <token>`` with the hashed per-integration tokens of :mod:`.models`.

DRF's ``TokenAuthentication`` parses the header and answers ``WWW-Authenticate: Bearer``, which
makes an anonymous or badly authenticated call a 401 (not the 403 that session authentication
alone gives, docs/standards.md); only the lookup is replaced, by digest and excluding revoked
tokens. drf-spectacular documents a subclass of ``TokenAuthentication`` as an HTTP bearer scheme.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.request import Request

from clinic.api.models import ApiToken
from clinic.api.tokens import api_token_get_active


class ApiTokenAuthentication(TokenAuthentication):
    """Bearer tokens (made by ``manage.py create_api_token`` or the admin); ``request.auth``
    is the ApiToken.

    ``Authorization: Token <token>``, DRF's own spelling that many integrators try first, is
    read as well; the challenge stays ``Bearer``."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = get_authorization_header(request).split()
        if header and header[0].lower() == b"token":
            self.keyword = "Token"  # DRF makes one authenticator per request
        return super().authenticate(request)

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        row = api_token_get_active(token=key)
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        if not row.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return row.user, row

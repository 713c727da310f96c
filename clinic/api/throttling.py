"""Request rate per API token (429 beyond it), per user for browser sessions.

One integration that loops must not starve the others, so the budget belongs to the token, not to
the user (a user may own several integrations). The rate is the ``api_token`` entry of
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, else :data:`DEFAULT_RATE`. Counts live in Django's
cache: in a multi-process deployment that cache must be shared (Redis) for the limit to hold
across workers.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from clinic.api.models import ApiToken

DEFAULT_RATE = "120/min"
"""Two requests a second on average: ample for a PACS bridge that polls, and a stop to a loop."""


class ApiTokenRateThrottle(SimpleRateThrottle):
    """Throttle keyed by token id when a token authenticated the call, else by user or address."""

    scope = "api_token"

    def get_rate(self) -> str | None:
        # Read at call time, not import time, so that a changed setting takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope, DEFAULT_RATE)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"address-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

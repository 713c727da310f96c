"""A deployment that holds patients' data: refuses to start half-configured.

Required from the environment: ``DJANGO_SECRET_KEY``, ``DJANGO_ALLOWED_HOSTS`` and
``BONEAGE_IDENTIFIER_KEY`` (its own key for the identifier HMACs, never the secret key: rotating
one must not silently break search by the other). Behind the reverse proxy, which terminates TLS
and sets ``X-Forwarded-Proto``: HTTPS only, HSTS for a year, secure and HTTP-only cookies, and a
content security policy that allows this site's own scripts, styles and images and nothing else.
``manage.py check --deploy`` passes with these settings (CI runs it).
"""

from __future__ import annotations

from clinic.settings.base import *  # noqa: F403
from clinic.settings.base import ImproperlyConfigured, flag, os


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} must be set for production (README: Deploy and scale)")
    return value


SECRET_KEY = _required("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = [host for host in _required("DJANGO_ALLOWED_HOSTS").split(",") if host]
BONEAGE_IDENTIFIER_KEY = _required("BONEAGE_IDENTIFIER_KEY")
if BONEAGE_IDENTIFIER_KEY == SECRET_KEY:
    raise ImproperlyConfigured("BONEAGE_IDENTIFIER_KEY must differ from DJANGO_SECRET_KEY")
DEBUG = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = flag("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container's own plain-HTTP health check
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", 31_536_000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
MIDDLEWARE = [*MIDDLEWARE, "clinic.middleware.ContentSecurityPolicyMiddleware"]  # noqa: F405
BONEAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
    "form-action 'self'"
)

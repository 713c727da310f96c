"""The embedded run on one machine (``make run``): no external server, nothing to configure.

SQLite, media and a filesystem Celery broker under ``var/`` unless ``DATABASE_URL`` and
``CELERY_BROKER_URL`` say otherwise; a fixed development key, because this run is for a laptop
or a demonstration, never for patients' data on a network (that is ``production``).
"""

from __future__ import annotations

from clinic.settings.base import *  # noqa: F403
from clinic.settings.base import os

SECRET_KEY = SECRET_KEY or "embedded-only-insecure-key-set-DJANGO_SECRET_KEY"  # noqa: F405
BONEAGE_IDENTIFIER_KEY = (  # noqa: F405
    os.environ.get("BONEAGE_IDENTIFIER_KEY") or f"identifiers:{SECRET_KEY}"
)

"""The clinic web app: upload, queue, report, review. Calls the engine only through its public API.

The Celery app is imported here so that ``@shared_task`` binds to it whenever Django starts.
"""

from __future__ import annotations

from clinic.celery import app as celery_app

__all__ = ["celery_app"]

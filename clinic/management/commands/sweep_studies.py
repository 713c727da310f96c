"""``manage.py sweep_studies``: queue again, or fail, the studies no worker will finish.

Celery beat runs the same sweep every five minutes (``CELERY_BEAT_SCHEDULE``); this command is
for a deployment that runs cron instead, or for an administrator who wants it now.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from clinic import services


class Command(BaseCommand):
    help = "Queue again, or fail, the studies stuck past their time limit."

    def handle(self, *args: Any, **options: Any) -> None:
        actions = services.studies_sweep()
        for action, ids in actions.items():
            self.stdout.write(f"{action}: {len(ids)} {ids if ids else ''}".rstrip())

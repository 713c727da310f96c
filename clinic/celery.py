"""The Celery app of the clinic: configured from Django settings (``CELERY_*``).

Nothing here imports torch or touches CUDA, so the parent never initialises CUDA before the pool
forks; each child sets its torch threads when it loads the models, on its first task
(``clinic.tasks.ModelTask``; docs/standards.md, "Celery with PyTorch").
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings.local")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

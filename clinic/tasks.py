"""Celery tasks: thin wrappers around services (docs/standards.md).

The models load lazily, once per worker process, in a cached property of the task base: loading in
``worker_process_init`` would be killed after ``worker_proc_alive_timeout`` (docs/standards.md).
Retries only for transient errors (database or broker connection); an engine error is final and is
recorded on the study by the service.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.db import InterfaceError, OperationalError

from clinic import engine, services


class ModelTask(DjangoTask):
    """A task base that holds the engine's ``ModelBundle``, loaded on first use in this process.

    ``DjangoTask`` gives ``delay_on_commit``: a worker never reads an uncommitted study.
    """

    @cached_property
    def models(self) -> Any:
        """The bundle, loaded in this child; torch's threads limited first (no oversubscription)."""
        from django.conf import settings

        return engine.configured_models(threads=settings.BONEAGE_TORCH_THREADS)


@shared_task(
    base=ModelTask,
    bind=True,
    autoretry_for=(OperationalError, InterfaceError, ConnectionError),
    retry_backoff=5,
    max_retries=3,
)
def assess_study(self: ModelTask, study_id: int) -> None:
    """Assess one study (idempotent: a redelivered task finds the study done and returns)."""
    services.run_assessment(study_id=study_id, get_models=lambda: self.models)


@shared_task
def sweep_studies() -> dict[str, list[int]]:
    """Queue again, or fail, the studies no worker will finish (``services.studies_sweep``)."""
    return services.studies_sweep()

"""Celery tasks of the PACS connection: thin wrappers around :mod:`clinic.pacs.services`."""

from __future__ import annotations

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.db import InterfaceError, OperationalError


@shared_task(
    base=DjangoTask,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=3,
)
def deliver_result(delivery_id: int) -> None:
    """Send one delivery (a failure is recorded on it and retried by the service)."""
    from clinic.pacs import services

    services.delivery_attempt(delivery_id=delivery_id)


@shared_task
def sweep_deliveries() -> list[int]:
    """Queue the deliveries whose next try is due (``services.deliveries_sweep``)."""
    from clinic.pacs import services

    return services.deliveries_sweep()

"""What users read of the PACS connection, scoped to their institution (superusers see all)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from clinic import selectors
from clinic.models import Study
from clinic.pacs.models import Delivery, DicomNode


def nodes_visible_to(user: AbstractBaseUser) -> QuerySet[DicomNode]:
    if user.is_superuser:
        return DicomNode.objects.all()
    membership = getattr(user, "membership", None) if user.is_authenticated else None
    if membership is None:
        return DicomNode.objects.none()
    return DicomNode.objects.filter(institution_id=membership.institution_id)


def deliveries_visible_to(user: AbstractBaseUser) -> QuerySet[Delivery]:
    if user.is_superuser:
        return Delivery.objects.all()
    return Delivery.objects.filter(study__in=selectors.studies_visible_to(user))


def undelivered(study: Study) -> list[Delivery]:
    """The study's deliveries that used their attempts without reaching the PACS."""
    return list(
        study.deliveries.filter(status=Delivery.Status.FAILED).select_related("destination")
    )

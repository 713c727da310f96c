"""What the pages read of a study's deliveries to its PACS."""

from __future__ import annotations

from clinic.models import Study
from clinic.pacs.models import Delivery


def undelivered(study: Study) -> list[Delivery]:
    """The study's deliveries that used their attempts without reaching the PACS."""
    return list(
        study.deliveries.filter(status=Delivery.Status.FAILED).select_related("destination")
    )

"""What changes deliveries: queue them, attempt them, resend them, sweep the due ones.

A delivery is never lost: each failed attempt keeps its reason and schedules the next try (after
1, 2, 4… times ``BONEAGE_PACS_BACKOFF_S``, at most ``BONEAGE_PACS_RETRY_MAX_S`` apart); after
``BONEAGE_PACS_ATTEMPTS`` it is marked failed, which the admin and the study page show, and it is
still tried at the longest interval by the sweep (Celery beat), so a PACS that is down gets every
result once it is back. Sending again is harmless: a delivery's UIDs are fixed, and a PACS replaces
an instance it already holds.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from pydicom.uid import generate_uid

from clinic.models import Review, Study
from clinic.pacs.models import Delivery, DicomNode

logger = logging.getLogger(__name__)


def deliveries_queue(*, study: Study, review: Review | None = None) -> list[Delivery]:
    """A delivery of the study's results (signed when ``review`` is given) to each enabled
    destination of its institution, each sent once the transaction commits."""
    from clinic.pacs.tasks import deliver_result

    destinations = DicomNode.objects.filter(
        institution=study.institution, role=DicomNode.Role.DESTINATION, enabled=True
    )
    kind = Delivery.Kind.SIGNED if review is not None else Delivery.Kind.UNSIGNED
    made = []
    for destination in destinations:
        delivery = Delivery.objects.create(
            study=study, destination=destination, kind=kind, review=review,
            next_try=timezone.now(), sr_series_uid=generate_uid(), sr_instance_uid=generate_uid(),
            sc_series_uid=generate_uid(), sc_instance_uid=generate_uid(),
        )  # fmt: skip
        deliver_result.delay_on_commit(delivery.pk)
        made.append(delivery)
    return made


def _backoff_s(attempts: int) -> float:
    return min(
        settings.BONEAGE_PACS_BACKOFF_S * 2 ** max(attempts - 1, 0),
        settings.BONEAGE_PACS_RETRY_MAX_S,
    )


def delivery_attempt(*, delivery_id: int) -> Delivery:
    """Send one delivery now (unless it was sent); a failure is recorded with its reason and the
    next try scheduled, the task queued again for it while attempts remain."""
    from clinic.pacs.results import delivery_results
    from clinic.pacs.sending import SendFailed, send
    from clinic.pacs.tasks import deliver_result

    delivery = Delivery.objects.select_related(
        "study__report", "study__institution", "destination", "review__reviewer"
    ).get(pk=delivery_id)
    if delivery.status == Delivery.Status.SENT:
        return delivery
    try:
        send(delivery.destination, delivery_results(delivery))
    except SendFailed as error:
        reason = str(error)
    except Exception as error:  # noqa: BLE001 - recorded, never lost
        logger.exception("delivery=%s raised %s", delivery.pk, type(error).__name__)
        reason = f"internal error ({type(error).__name__}), logged for the administrators"
    else:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.SENT, sent_at=timezone.now(), last_error="", next_try=None,
            attempts=delivery.attempts + 1,
        )  # fmt: skip
        delivery.refresh_from_db()
        logger.info("delivery=%s study=%s sent", delivery.pk, delivery.study_id)
        return delivery
    attempts = delivery.attempts + 1
    exhausted = attempts >= settings.BONEAGE_PACS_ATTEMPTS
    wait_s = settings.BONEAGE_PACS_RETRY_MAX_S if exhausted else _backoff_s(attempts)
    Delivery.objects.filter(pk=delivery.pk).exclude(status=Delivery.Status.SENT).update(
        attempts=attempts,
        last_error=reason,
        status=Delivery.Status.FAILED if exhausted else Delivery.Status.PENDING,
        next_try=timezone.now() + timedelta(seconds=wait_s),
    )
    logger.warning(
        "delivery=%s study=%s attempt=%s failed: %s", delivery.pk, delivery.study_id, attempts,
        reason,
    )  # fmt: skip
    if not exhausted:
        deliver_result.apply_async((delivery.pk,), countdown=wait_s)
    delivery.refresh_from_db()
    return delivery


def delivery_resend(*, delivery: Delivery) -> Delivery:
    """Send a delivery again now, with its attempts counted afresh (the admin's action)."""
    from clinic.pacs.tasks import deliver_result

    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.PENDING, attempts=0, next_try=timezone.now()
        )
        deliver_result.delay_on_commit(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def deliveries_sweep() -> list[int]:
    """Queue every delivery not sent whose next try is due; their ids (Celery beat, each
    minute)."""
    from clinic.pacs.tasks import deliver_result

    due = Delivery.objects.exclude(status=Delivery.Status.SENT).filter(next_try__lte=timezone.now())
    ids = list(due.values_list("pk", flat=True))
    for delivery_id in ids:
        deliver_result.delay(delivery_id)
    return ids


def nodes_connect(
    *,
    institution_name: str,
    caller_ae_title: str = "",
    destination: str = "",
    stow_url: str = "",
    files_as: str = "",
) -> list[DicomNode]:
    """Connect an institution's PACS (``manage.py pacs_connect``; idempotent): a caller by its
    AE title, whose films are filed as ``files_as`` (default: the institution's own ``pacs-…``
    service account, which cannot log in), and a destination ``AE@host:port`` or a STOW-RS URL.
    """
    from django.contrib.auth import get_user_model
    from django.utils.text import slugify

    from clinic.models import Institution, Membership

    institution, _ = Institution.objects.get_or_create(name=institution_name)
    nodes = []
    if caller_ae_title:
        user_model = get_user_model()
        username = files_as or f"pacs-{slugify(institution_name)}"[:150]
        user, created = user_model.objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
        Membership.objects.get_or_create(user=user, defaults={"institution": institution})
        node, _ = DicomNode.objects.update_or_create(
            role=DicomNode.Role.CALLER, ae_title=caller_ae_title,
            defaults={"institution": institution, "name": f"{caller_ae_title} (caller)",
                      "files_as": user, "enabled": True},
        )  # fmt: skip
        nodes.append(node)
    if destination or stow_url:
        ae_title, host, port = "", "", None
        if destination:
            ae_title, _, address = destination.partition("@")
            host, _, port_text = address.rpartition(":")
            port = int(port_text)
        node, _ = DicomNode.objects.update_or_create(
            institution=institution, role=DicomNode.Role.DESTINATION,
            name=f"{ae_title or stow_url} (destination)",
            defaults={"ae_title": ae_title, "host": host, "port": port, "stow_url": stow_url,
                      "enabled": True},
        )  # fmt: skip
        nodes.append(node)
    return nodes

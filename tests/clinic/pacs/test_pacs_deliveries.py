"""Deliveries in process: queued when a study is done and when it is signed, a refused one kept
with its reason and shown, resent from the admin within the administrator's institution, swept
when due, and PACS nodes connected by ``manage.py pacs_connect``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from clinic import signing
from clinic.pacs import services as pacs_services
from clinic.pacs import tasks
from clinic.pacs.models import Delivery, DicomNode
from tests.clinic.pacs.orthanc import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_destination(user):
    """A destination where nothing listens (a PACS that is down)."""
    return DicomNode.objects.create(
        institution=user.membership.institution, name="main PACS", role="destination",
        ae_title="PACS", host="127.0.0.1", port=free_port(),
    )  # fmt: skip


def test_done_and_signed_each_queue_a_delivery_per_destination(closed_destination, done_study,
                                                               user):  # fmt: skip
    (unsigned,) = Delivery.objects.filter(study=done_study)
    assert (unsigned.kind, unsigned.status, unsigned.destination) == (
        "unsigned", "pending", closed_destination,
    )  # fmt: skip
    review = signing.review_sign(report=done_study.report, reviewer=user, accept="endtoend")
    signed = Delivery.objects.get(study=done_study, kind="signed")
    assert signed.review == review
    assert len({unsigned.sr_instance_uid, signed.sr_instance_uid, signed.sc_instance_uid}) == 3


def test_a_refused_delivery_keeps_its_reason_is_shown_and_still_retried(
    closed_destination, done_study, user, client, settings
):
    settings.BONEAGE_PACS_ATTEMPTS = 1
    delivery = Delivery.objects.get(study=done_study)
    delivery = pacs_services.delivery_attempt(delivery_id=delivery.pk)
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error == (
        f"association refused: no answer from PACS at 127.0.0.1:{closed_destination.port}"
    )
    later = timezone.now() + timedelta(seconds=settings.BONEAGE_PACS_RETRY_MAX_S - 60)
    assert delivery.next_try > later  # tried again, at the longest interval
    client.force_login(user)
    page = client.get(reverse("study-report", args=[done_study.pk])).content.decode()
    assert "was not delivered to PACS (main PACS): association refused: no answer" in page


def test_the_sweep_queues_what_is_due_and_only_that(closed_destination, done_study, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.deliver_result, "delay", queued.append)
    due = Delivery.objects.get(study=done_study)
    Delivery.objects.filter(pk=due.pk).update(next_try=timezone.now() - timedelta(seconds=1))
    assert pacs_services.deliveries_sweep() == [due.pk] and queued == [due.pk]
    Delivery.objects.filter(pk=due.pk).update(next_try=timezone.now() + timedelta(hours=1))
    assert pacs_services.deliveries_sweep() == []


def test_admin_resends_only_its_institutions_deliveries(
    closed_destination, done_study, make_user, user, client
):
    Delivery.objects.filter(study=done_study).update(status="failed", attempts=4)
    staff = make_user("boss", user.membership.institution, is_staff=True)
    rights = Permission.objects.filter(codename__in=["view_delivery", "change_delivery"])
    staff.user_permissions.add(*rights)
    outsider = make_user("other-boss", is_staff=True)
    outsider.user_permissions.add(*Permission.objects.filter(codename="view_delivery"))
    url = reverse("admin:pacs_delivery_changelist")
    client.force_login(outsider)
    assert client.get(url).context["cl"].result_count == 0
    client.force_login(staff)
    assert client.get(url).context["cl"].result_count == 1
    delivery = Delivery.objects.get(study=done_study)
    client.post(url, {"action": "resend", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)


def test_pacs_connect_is_idempotent_and_files_as_a_service_account():
    for _ in range(2):
        call_command("pacs_connect", "--institution", "St Elsewhere", "--caller", "ORTHANC",
                     "--destination", "ORTHANC@pacs:4242")  # fmt: skip
    caller = DicomNode.objects.get(role="caller")
    destination = DicomNode.objects.get(role="destination")
    assert caller.ae_title == "ORTHANC" and caller.files_as.username == "pacs-st-elsewhere"
    assert not caller.files_as.has_usable_password()
    assert caller.files_as.membership.institution == caller.institution
    assert (destination.host, destination.port) == ("pacs", 4242)

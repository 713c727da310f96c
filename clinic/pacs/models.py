"""The PACS an institution connects, and each result sent to it.

A :class:`DicomNode` is one DICOM application of an institution: a caller (a PACS, a router, a
modality) allowed to send us films, whose studies are filed under the account it names, or a
destination our results go to, by C-STORE (AE title, host, port) or by STOW-RS (a URL). A
:class:`Delivery` is one result (the unsigned report when the study is done, the signed one after
sign-off) for one destination, with its UIDs fixed at creation so that sending it again replaces
what the PACS holds instead of adding a copy.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from clinic.models import Institution, Review, Study


class DicomNode(models.Model):
    class Role(models.TextChoices):
        CALLER = "caller", "caller (sends us films)"
        DESTINATION = "destination", "destination (receives our results)"

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="nodes")
    name = models.CharField(max_length=100, help_text="What the site calls it, e.g. 'main PACS'.")
    role = models.CharField(max_length=16, choices=Role.choices)
    ae_title = models.CharField(
        max_length=16, blank=True, help_text="Its AE title (a caller's Calling AE Title)."
    )
    host = models.CharField(max_length=255, blank=True, help_text="A C-STORE destination's host.")
    port = models.PositiveIntegerField(null=True, blank=True)
    stow_url = models.URLField(
        blank=True, help_text="A STOW-RS destination's DICOMweb root (…/dicom-web), instead."
    )
    files_as = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="A caller's studies are filed as uploaded by this member of the institution.",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ae_title"],
                condition=Q(role="caller"),
                name="dicomnode_one_institution_per_calling_ae_title",
            ),
            models.CheckConstraint(
                condition=Q(role="destination") | Q(files_as__isnull=False),
                name="dicomnode_caller_files_as_someone",
            ),
            models.CheckConstraint(
                condition=Q(role="caller")
                | ~Q(stow_url="")
                | (~Q(ae_title="") & ~Q(host="") & Q(port__isnull=False)),
                name="dicomnode_destination_is_reachable",
            ),
        ]

    def __str__(self) -> str:
        where = self.stow_url or f"{self.ae_title}@{self.host}:{self.port}"
        if self.role == self.Role.CALLER:
            where = self.ae_title
        return f"{self.name} ({self.get_role_display()}, {where})"


class Delivery(models.Model):
    class Kind(models.TextChoices):
        UNSIGNED = "unsigned", "unsigned report"
        SIGNED = "signed", "signed report"

    class Status(models.TextChoices):
        PENDING = "pending", "waiting to be sent"
        SENT = "sent", "delivered"
        FAILED = "failed", "not delivered"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="deliveries")
    destination = models.ForeignKey(DicomNode, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_try = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.TextField(blank=True, help_text="Why the last attempt failed, in words.")
    sr_series_uid = models.CharField(max_length=64)
    sr_instance_uid = models.CharField(max_length=64)
    sc_series_uid = models.CharField(max_length=64)
    sc_instance_uid = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of study {self.study_id} to {self.destination.name}"

"""Data of the clinic: institutions, their users, studies, reports and reviews.

Only data and invariants here (docs/standards.md): every change goes through ``clinic.services``,
every read that a user makes through ``clinic.selectors`` (which scope by institution).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class Institution(models.Model):
    """A hospital or practice: the unit of data separation. No study is ever shown across it."""

    name = models.CharField(max_length=200, unique=True)
    patient_id_system = models.CharField(
        max_length=200,
        blank=True,
        help_text="URI of this institution's patient identifiers, for FHIR (e.g. its MRN OID).",
    )
    accession_system = models.CharField(
        max_length=200, blank=True, help_text="URI of this institution's accession numbers."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def identifier_systems(self) -> tuple[str, str]:
        """(patient ID system, accession number system) for FHIR identifiers: the ones set
        here, else a URN naming this institution, so that two institutions' numbers never
        read as one."""
        fallback = f"urn:boneage:institution:{self.pk}"
        return (
            self.patient_id_system or f"{fallback}:patient-id",
            self.accession_system or f"{fallback}:accession-number",
        )


class Membership(models.Model):
    """The one institution a user works for."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="memberships"
    )

    def __str__(self) -> str:
        return f"{self.user} @ {self.institution}"


REASON_MAX_CHARS = 2000
"""The longest reason a signature keeps: a correction's why is a few sentences, not a letter
(and a free-text field without a limit stores whatever is posted)."""


class Sex(models.TextChoices):
    FEMALE = "F", "female"
    MALE = "M", "male"


class Study(models.Model):
    """One uploaded hand radiograph and what is known about the child.

    The original is stored under its SHA-256 (``originals/ab/abcd….ext``): identical uploads share
    one file. The patient and examination identifiers (given, or read from DICOM) are shown to
    the institution that owns the study and never logged; patient ID and accession number are
    also kept as keyed HMACs (``clinic.identifiers``), the exact-match index search uses.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="studies")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="studies"
    )
    original = models.FileField(max_length=255)
    original_sha256 = models.CharField(max_length=64, db_index=True)
    original_name = models.CharField(max_length=255, blank=True)
    source_format = models.CharField(max_length=16)
    sex = models.CharField(max_length=1, choices=Sex.choices)
    birth_date = models.DateField(null=True, blank=True)
    exam_date = models.DateField(null=True, blank=True)
    chronological_age_months = models.FloatField(null=True, blank=True)
    patient_id = models.CharField(max_length=64, blank=True)
    patient_name = models.CharField(max_length=128, blank=True)
    accession_number = models.CharField(max_length=64, blank=True)
    study_instance_uid = models.CharField(max_length=64, blank=True)
    sop_instance_uid = models.CharField(max_length=64, blank=True, db_index=True)
    patient_id_hmac = models.CharField(max_length=64, blank=True, db_index=True)
    accession_number_hmac = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    failure_reason = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="How many times a worker started assessing this study."
    )
    idempotency_key = models.CharField(max_length=255, blank=True)
    tag_overrides = models.JSONField(
        default=list,
        blank=True,
        help_text="Each value given that overrode the file's DICOM tag on purpose, in words.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "studies"
        constraints = [
            models.UniqueConstraint(
                fields=["uploaded_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="study_unique_idempotency_key_per_user",
            ),
            models.CheckConstraint(
                condition=Q(chronological_age_months__isnull=True)
                | Q(chronological_age_months__gte=0),
                name="study_chronological_age_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Study {self.pk} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}


class Report(models.Model):
    """The assessment of a study: the full JSON contract plus the fields admins filter on.

    ``assessment`` is ``boneage.assess.Assessment.to_dict()`` verbatim; the other fields are copies
    of parts of it, kept as columns so that lists can filter and sort on them.
    """

    class Category(models.TextChoices):
        DELAYED = "delayed", "delayed"
        NORMAL = "within normal", "within normal"
        ADVANCED = "advanced", "advanced"
        NOT_DETERMINED = "not determined", "not determined"

    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="report")
    assessment = models.JSONField()
    schema_version = models.PositiveSmallIntegerField()
    model_versions = models.JSONField(default=dict)
    multistep_age_months = models.FloatField(null=True, blank=True)
    endtoend_age_months = models.FloatField(null=True, blank=True)
    combined_age_months = models.FloatField(null=True, blank=True)
    agree = models.BooleanField(null=True)
    flag_for_review = models.BooleanField(default=False, db_index=True)
    category = models.CharField(max_length=16, choices=Category.choices, blank=True)
    radiograph = models.FileField(max_length=255, blank=True)
    overlay = models.FileField(max_length=255, blank=True)
    chart = models.FileField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-flag_for_review", "created_at"]

    def __str__(self) -> str:
        return f"Report of study {self.study_id}"

    @property
    def review(self) -> Review | None:
        """The review of record: the latest signature, or None before sign-off.

        Earlier signatures stay in :attr:`reviews` (a correction after sign-off is a new review,
        never an edit); prefetch ``reviews`` when listing many reports.
        """
        return max(self.reviews.all(), key=lambda r: (r.signed_at, r.pk), default=None)

    @property
    def is_signed(self) -> bool:
        return self.review is not None

    def estimate_of(self, method: str) -> float | None:
        """The bone age one method estimated (``"multistep"``, ``"endtoend"`` or
        ``"combined"``, both pooled), or None."""
        return {
            "multistep": self.multistep_age_months,
            "endtoend": self.endtoend_age_months,
            "combined": self.combined_age_months,
        }.get(method)


class Review(models.Model):
    """A clinician's signature: one of the two estimates accepted as the report showed it
    (``accepted_method``), or the bone age corrected with a reason.

    A signature is never edited: a later change is a new review carrying its reason, and the
    latest one is the report's reading of record (:attr:`Report.review`).
    """

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", "accepted"
        CORRECTED = "corrected", "corrected"

    class Method(models.TextChoices):
        MULTISTEP = "multistep", "multi-step estimate"
        ENDTOEND = "endtoend", "end-to-end estimate"
        COMBINED = "combined", "combined estimate"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    decision = models.CharField(max_length=16, choices=Decision.choices)
    accepted_method = models.CharField(max_length=16, choices=Method.choices, blank=True)
    bone_age_months = models.FloatField()
    reason = models.TextField(blank=True)
    signed_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["signed_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision="accepted") | ~Q(reason=""),
                name="review_correction_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(bone_age_months__gte=0), name="review_bone_age_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.reviewer} ({self.bone_age_months:.1f} mo)"

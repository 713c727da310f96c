"""What the API answers with: a study as a light summary (lists) or in full (detail and upload).

A list carries each study's key figures from the report's own columns, never the assessment
JSON (about 15 KB a study): integrators who poll the list get what they sort and triage on, and
read the full assessment from the study's own URL.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic.models import Report, Review, Sex, Study
from clinic.selectors import review_reading


@extend_schema_field(
    {"type": "object", "nullable": True, "additionalProperties": True},
)
class AssessmentField(serializers.JSONField):
    """The assessment JSON exactly as ``boneage assess --json`` prints it; its JSON Schema is
    docs/assessment.schema.json, generated from ``boneage.contract``."""


_NULLABLE_URI = {"type": "string", "format": "uri", "nullable": True}


class ReviewOutput(serializers.Serializer):
    class Meta:
        ref_name = "Review"

    decision = serializers.CharField(help_text="`accepted` or `corrected`.")
    accepted_method = serializers.CharField(
        help_text="`multistep`, `endtoend` or `combined`: the estimate accepted as shown; empty "
        "if corrected."
    )
    bone_age_months = serializers.FloatField(help_text="The signed bone age, months.")
    reason = serializers.CharField(help_text="Why the bone age was corrected; empty if accepted.")
    reviewer = serializers.CharField(source="reviewer.get_username")
    signed_at = serializers.DateTimeField()
    reading = serializers.SerializerMethodField(
        help_text="This signature's bone age against the chronological age (difference, SDS, "
        "category); the latest signature's is the reading of record. Null without a "
        "chronological age."
    )

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_reading(self, review: Review) -> dict[str, Any] | None:
        return review_reading(review)


class ReportSummaryOutput(serializers.Serializer):
    """The report's key figures, read from its columns (no assessment JSON is loaded)."""

    class Meta:
        ref_name = "ReportSummary"

    multistep_age_months = serializers.FloatField(
        allow_null=True, help_text="The multi-step estimate, months; null if it gave none."
    )
    endtoend_age_months = serializers.FloatField(
        allow_null=True, help_text="The end-to-end estimate, months; null if it gave none."
    )
    combined_age_months = serializers.FloatField(
        allow_null=True,
        help_text="Both estimates pooled, months; null when they disagree or one is missing.",
    )
    agree = serializers.BooleanField(
        allow_null=True, help_text="Whether the two estimates agree within their uncertainty."
    )
    flag_for_review = serializers.BooleanField(
        help_text="A check or a disagreement asks for a closer look."
    )
    category = serializers.CharField(
        help_text="The reading against chronological age (`delayed`, `within normal`, "
        "`advanced`, `not determined`); empty without a chronological age."
    )
    signed_bone_age_months = serializers.SerializerMethodField(
        help_text="The bone age of the signature of record; null before sign-off."
    )
    signed_at = serializers.SerializerMethodField(
        help_text="When the signature of record was made; null before sign-off."
    )

    @extend_schema_field({"type": "number", "nullable": True})
    def get_signed_bone_age_months(self, report: Report) -> float | None:
        review = report.review
        return review.bone_age_months if review is not None else None

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
    def get_signed_at(self, report: Report) -> str | None:
        review = report.review
        return serializers.DateTimeField().to_representation(review.signed_at) if review else None


class StudySummaryOutput(serializers.Serializer):
    """A study, its status and, once done, its key figures: what a list shows."""

    class Meta:
        ref_name = "StudySummary"

    class UrlsOutput(serializers.Serializer):
        class Meta:
            ref_name = "StudyUrls"

        self = serializers.SerializerMethodField()
        overlay = serializers.SerializerMethodField()
        chart = serializers.SerializerMethodField()
        fhir = serializers.SerializerMethodField()

        def _url(self, name: str, study: Study) -> str:
            path = reverse(f"api:{name}", kwargs={"study_id": study.pk})
            return self.context["request"].build_absolute_uri(path)

        @extend_schema_field(OpenApiTypes.URI)
        def get_self(self, study: Study) -> str:
            return self._url("study-detail", study)

        @extend_schema_field(_NULLABLE_URI)
        def get_overlay(self, study: Study) -> str | None:
            report = getattr(study, "report", None)
            return self._url("study-overlay", study) if report and report.overlay else None

        @extend_schema_field(_NULLABLE_URI)
        def get_chart(self, study: Study) -> str | None:
            report = getattr(study, "report", None)
            return self._url("study-chart", study) if report and report.chart else None

        @extend_schema_field(_NULLABLE_URI)
        def get_fhir(self, study: Study) -> str | None:
            return self._url("study-fhir", study) if hasattr(study, "report") else None

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Study.Status.choices)
    failure_reason = serializers.CharField(help_text="Why the assessment failed, in words.")
    sex = serializers.ChoiceField(choices=Sex.choices)
    birth_date = serializers.DateField(allow_null=True)
    exam_date = serializers.DateField(allow_null=True)
    chronological_age_months = serializers.FloatField(allow_null=True)
    patient_id = serializers.CharField(help_text="Given, or DICOM PatientID; empty if neither.")
    patient_name = serializers.CharField(help_text="Given, or DICOM PatientName (Family, Given).")
    accession_number = serializers.CharField(help_text="Given, or DICOM AccessionNumber.")
    study_instance_uid = serializers.CharField(help_text="Given, or DICOM StudyInstanceUID.")
    tag_overrides = serializers.ListField(
        child=serializers.CharField(),
        help_text="Each value given that was kept over the file's contradicting DICOM tag "
        "(`override_tags`), in words; empty when none.",
    )
    source_format = serializers.CharField(help_text="`PNG`, `JPEG` or `DICOM`, sniffed.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    urls = UrlsOutput(source="*")
    summary = ReportSummaryOutput(
        source="report",
        allow_null=True,
        help_text="The report's key figures once done; null before.",
    )


class StudyOutput(StudySummaryOutput):
    """A study, its status and, once done, its whole report and every signature."""

    class Meta:
        ref_name = "Study"

    report = AssessmentField(source="report.assessment", allow_null=True)
    review = ReviewOutput(
        source="report.review",
        allow_null=True,
        help_text="The signature of record: the latest one; null before sign-off.",
    )
    signatures = serializers.SerializerMethodField(
        help_text="Every signature, oldest first: a correction after sign-off is a new one, "
        "and the earlier ones are kept."
    )

    @extend_schema_field(ReviewOutput(many=True))
    def get_signatures(self, study: Study) -> list[dict[str, Any]]:
        report = getattr(study, "report", None)
        reviews = report.reviews.all() if report is not None else []
        return ReviewOutput(reviews, many=True, context=self.context).data

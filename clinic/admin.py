"""The admin: studies and reports with filters, a review queue, sign-off, audit history, CSV export.

Sign-offs and corrections go through ``signing.review_sign`` like on the report page. Every
admin here is a ``clinic.admin_scope`` admin: it shows only what ``clinic.access`` lets the user
see, a superuser included (their own institution's studies). The accounts' admins (institutions,
memberships, users) are in ``clinic.admin_accounts``.
"""

from __future__ import annotations

import csv
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

import clinic.admin_accounts  # noqa: F401  (registers the accounts' admins)
from clinic import selectors, signing
from clinic.admin_scope import ScopedAdmin, ScopedHistoryAdmin, ScopedInline
from clinic.identifiers import identifier_hmac
from clinic.models import Report, Review, Study
from clinic.templatetags.clinic_format import years_months


class ReviewQueue(Report):
    """Unsigned reports, flagged first: a proxy so that the queue has its own admin page."""

    class Meta:
        proxy = True
        verbose_name = "report awaiting review"
        verbose_name_plural = "review queue"


def _csv_response(filename: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


class ReviewStateFilter(admin.SimpleListFilter):
    title = "review state"
    parameter_name = "review"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("unsigned", "awaiting review"),
            ("accepted", "accepted"),
            ("corrected", "corrected"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """Filter on the review of record (the latest signature), not on any earlier one."""
        report = "report" if queryset.model is Study else "pk"
        latest = Review.objects.filter(report=OuterRef(report)).order_by("-signed_at", "-pk")
        queryset = queryset.annotate(review_decision=Subquery(latest.values("decision")[:1]))
        if self.value() == "unsigned":
            return queryset.filter(review_decision__isnull=True)
        if self.value() in {"accepted", "corrected"}:
            return queryset.filter(review_decision=self.value())
        return queryset


class IdentifierSearchMixin:
    """Search by patient ID or accession number: the term is hashed, the stored HMACs compared."""

    identifier_prefix = ""

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        if not search_term.strip():
            return queryset, False
        hashed = identifier_hmac(search_term)
        p = self.identifier_prefix
        matches = queryset.filter(**{f"{p}patient_id_hmac": hashed}) | queryset.filter(
            **{f"{p}accession_number_hmac": hashed}
        )
        if search_term.strip().isdigit():
            matches |= queryset.filter(**{f"{p}pk" if p else "pk": int(search_term)})
        return matches, False


def _estimate(months: float | None) -> str:
    return "no estimate" if months is None else f"{years_months(months)} ({months:.1f} months)"


def _report_link(study_id: int) -> str:
    """The clinician's report page of a study (radiograph, overlay, chart, both estimates)."""
    url = reverse("study-report", args=[study_id])
    return format_html('<a href="{}">study #{}</a>', url, study_id)


@admin.register(Study)
class StudyAdmin(IdentifierSearchMixin, ScopedAdmin):
    list_display = ["study", "patient", "accession_number", "institution", "status", "sex",
                    "chronological_age", "created_at"]  # fmt: skip
    list_filter = [
        "status",
        ReviewStateFilter,
        ("report__agree", admin.BooleanFieldListFilter),
        "report__flag_for_review",
        "created_at",
        ("institution", admin.RelatedOnlyFieldListFilter),
    ]
    date_hierarchy = "created_at"
    search_fields = ["id"]
    search_help_text = "Study number, patient ID or accession number (exact)."
    # The stored files are served only through the clinic's scoped views (a storage URL would
    # bypass the institution check), and the identifier HMACs are an index, not for reading.
    fields = readonly_fields = [
        "study", "files", "institution", "uploaded_by", "original_name", "source_format",
        "patient_name", "patient_id", "accession_number", "study_instance_uid", "sex",
        "birth_date", "exam_date", "chronological_age", "status", "failure_reason",
        "idempotency_key", "created_at", "started_at", "finished_at",
    ]  # fmt: skip
    actions = ["export_csv"]

    @admin.display(description="study", ordering="pk")
    def study(self, study: Study) -> str:
        return _report_link(study.pk)

    @admin.display(description="patient", ordering="patient_name")
    def patient(self, study: Study) -> str:
        if study.patient_id:
            return f"{study.patient_name or '—'} ({study.patient_id})"
        return study.patient_name or "—"

    @admin.display(description="chronological age", ordering="chronological_age_months")
    def chronological_age(self, study: Study) -> str:
        return years_months(study.chronological_age_months)

    @admin.display(description="files")
    def files(self, study: Study) -> str:
        links = [("original", "original file")]
        report = getattr(study, "report", None)
        links += [(kind, kind) for kind in ("overlay", "chart") if report and getattr(report, kind)]
        return format_html_join(
            " · ",
            '<a href="{}">{}</a>',
            ((reverse("study-file", args=[study.pk, kind]), words) for kind, words in links),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Study]:
        return super().get_queryset(request).select_related("institution")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # studies are created by upload, where they are validated

    @admin.action(description="Export selected studies as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Study]) -> HttpResponse:
        header = ["study", "institution", "status", "sex", "chronological_age_months",
                  "multistep_age_months", "endtoend_age_months", "agree", "flag_for_review",
                  "review", "reviewed_bone_age_months", "created_at"]  # fmt: skip
        rows = []
        for study in queryset.select_related("institution", "report").prefetch_related(
            "report__reviews"
        ):
            report = getattr(study, "report", None)
            review = getattr(report, "review", None) if report else None
            rows.append([
                study.pk, study.institution.name, study.status, study.sex,
                study.chronological_age_months,
                report.multistep_age_months if report else "",
                report.endtoend_age_months if report else "",
                report.agree if report else "", report.flag_for_review if report else "",
                review.decision if review else "", review.bone_age_months if review else "",
                study.created_at.isoformat(),
            ])  # fmt: skip
        return _csv_response("studies.csv", header, rows)


_SIGNED_FIELDS = [
    "report",
    "decision",
    "accepted_method",
    "bone_age_months",
    "reason",
    "reviewer",
    "signed_at",
]


class ReviewInline(ScopedInline):
    """The report's signatures, oldest first, as signed: read here, signed on the review page."""

    model = Review
    fields = readonly_fields = _SIGNED_FIELDS[1:]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReportAdminBase(IdentifierSearchMixin, ScopedHistoryAdmin):
    identifier_prefix = "study__"
    list_display = ["report_page", "multistep", "endtoend", "agree", "flag_for_review",
                    "category", "is_signed", "created_at"]  # fmt: skip
    list_filter = [ReviewStateFilter, "agree", "flag_for_review", "category", "created_at",
                   ("study__institution", admin.RelatedOnlyFieldListFilter)]  # fmt: skip
    search_fields = ["study__id"]
    search_help_text = "Study number, patient ID or accession number (exact)."
    fields = readonly_fields = [
        "report_page",
        "multistep",
        "endtoend",
        "agree",
        "flag_for_review",
        "category",
        "models",
        "created_at",
    ]
    actions = ["export_csv"]
    inlines = [ReviewInline]

    @admin.display(description="report", ordering="study_id")
    def report_page(self, report: Report) -> str:
        """The clinician's report page, not the assessment's JSON."""
        return _report_link(report.study_id)

    @admin.display(description="multi-step estimate", ordering="multistep_age_months")
    def multistep(self, report: Report) -> str:
        return _estimate(report.multistep_age_months)

    @admin.display(description="end-to-end estimate", ordering="endtoend_age_months")
    def endtoend(self, report: Report) -> str:
        return _estimate(report.endtoend_age_months)

    @admin.display(description="models")
    def models(self, report: Report) -> str:
        return ", ".join(f"{role}: {ident}" for role, ident in report.model_versions.items())

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return super().get_queryset(request).select_related("study")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # reports are written by the assessment

    @admin.display(boolean=True, description="signed")
    def is_signed(self, report: Report) -> bool:
        return report.is_signed

    @admin.action(description="Export selected reports as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Report]) -> HttpResponse:
        header = ["study", "multistep_age_months", "endtoend_age_months", "agree",
                  "flag_for_review", "category", "model_versions", "signed",
                  "signed_bone_age_months", "signed_category", "created_at"]  # fmt: skip
        rows = []
        for r in queryset.select_related("study").prefetch_related("reviews"):
            reading = selectors.signed_reading(r) or {}
            signed_age = r.review.bone_age_months if r.is_signed else None
            rows.append(
                [r.study_id, r.multistep_age_months, r.endtoend_age_months, r.agree,
                 r.flag_for_review, r.category, r.model_versions, r.is_signed, signed_age,
                 reading.get("category", ""), r.created_at.isoformat()]
            )  # fmt: skip
        return _csv_response("reports.csv", header, rows)


@admin.register(Report)
class ReportAdmin(ReportAdminBase):
    pass


@admin.register(ReviewQueue)
class ReviewQueueAdmin(ReportAdminBase):
    ordering = ["-flag_for_review", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return super().get_queryset(request).filter(reviews__isnull=True)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The report's own history: the queue is a view of reports, with none of its own."""
        report = self.get_object_or_404(request, object_id)
        return redirect("admin:clinic_report_history", report.pk)

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        report = self.get_object_or_404(request, object_id)
        return redirect("admin:clinic_report_simple_history", report.pk, version_id)


class ReviewAdminForm(forms.ModelForm):
    """Sign-off or correction: accept one estimate as shown, or correct it with the reason."""

    accept = forms.ChoiceField(
        required=False, choices=[("", "—"), *Review.Method.choices], label="Accept"
    )
    corrected_age_months = forms.FloatField(required=False, min_value=0, max_value=240)
    confirm = forms.BooleanField(
        required=False,
        label="Looked again",
        help_text="Needed to accept an estimate of a flagged study, or one outside the other "
        "estimate's interval.",
    )

    class Meta:
        model = Review
        fields = ["report", "accept", "corrected_age_months", "reason", "confirm"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        corrected, accept, report = (
            data.get("corrected_age_months"),
            data.get("accept"),
            data.get("report"),
        )
        if corrected is not None and not data.get("reason", "").strip():
            self.add_error("reason", "A corrected bone age needs the reason for the correction.")
        elif corrected is None and not accept:
            self.add_error(
                "accept", "Choose which estimate to sign, or enter a corrected bone age."
            )
        elif corrected is None and report is not None and report.estimate_of(accept) is None:
            self.add_error("accept", "That method gave no estimate for this report.")
        elif (
            corrected is None
            and report is not None
            and not data.get("confirm")
            and (concerns := signing.signing_concerns(report, accept))
        ):
            self.add_error("confirm", "Look again: " + "; ".join(concerns) + ".")
        return data


@admin.register(Review)
class ReviewAdmin(ScopedHistoryAdmin):
    """Adding a review signs a report through ``signing.review_sign``; signatures are final."""

    form = ReviewAdminForm
    list_display = ["report", "decision", "bone_age_months", "reviewer", "signed_at"]
    list_filter = ["decision", "signed_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Review | None = None) -> list[str]:
        return _SIGNED_FIELDS if obj else []

    def get_fields(self, request: HttpRequest, obj: Review | None = None) -> list[str]:
        return (
            _SIGNED_FIELDS
            if obj
            else ["report", "accept", "corrected_age_months", "reason", "confirm"]
        )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "report":
            kwargs["queryset"] = selectors.review_queue(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Review:
        if change:
            return form.instance
        return signing.review_sign(
            report=form.cleaned_data["report"],
            reviewer=request.user,
            accept=form.cleaned_data["accept"] or None,
            corrected_age_months=form.cleaned_data["corrected_age_months"],
            reason=form.cleaned_data["reason"],
            confirmed=form.cleaned_data["confirm"],
        )

    def save_model(self, request: HttpRequest, obj: Review, form: Any, change: bool) -> None:
        """Nothing to save: ``save_form`` signed through the service, and signatures are final."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """A review has no related objects to save."""

    def has_delete_permission(self, request: HttpRequest, obj: Review | None = None) -> bool:
        return False  # a signature is final; a later correction is a new review with its reason

"""Routes of the API: ``/api/v1/…`` (versioned), the OpenAPI schema and its browsable docs."""

from __future__ import annotations

from django.urls import path

from clinic.api import apis, docs

app_name = "api"

urlpatterns = [
    path("v1/studies/", apis.StudyListCreateApi.as_view(), name="study-list"),
    path("v1/studies/<int:study_id>/", apis.StudyDetailApi.as_view(), name="study-detail"),
    path(
        "v1/patients/<str:patient_id>/studies/",
        apis.PatientStudiesApi.as_view(),
        name="patient-studies",
    ),
    path(
        "v1/studies/<int:study_id>/overlay.png",
        apis.StudyOverlayApi.as_view(),
        name="study-overlay",
    ),
    path("v1/studies/<int:study_id>/chart.png", apis.StudyChartApi.as_view(), name="study-chart"),
    path("v1/studies/<int:study_id>/fhir/", apis.StudyFhirApi.as_view(), name="study-fhir"),
    path(
        "v1/studies/<int:study_id>/report.pdf",
        apis.StudyReportPdfApi.as_view(),
        name="study-report-pdf",
    ),
    path("schema/", docs.SchemaApi.as_view(), name="schema"),
    path("docs/", docs.DocsPage.as_view(), name="docs"),
]

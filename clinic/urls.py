"""URL map: the pages, the admin and the REST API (``clinic.api``)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from clinic import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("studies/", views.study_list, name="study-list"),
    path("studies/new/", views.study_upload, name="study-upload"),
    path("studies/tags/", views.upload_tags, name="upload-tags"),
    path("studies/<int:study_id>/", views.study_report, name="study-report"),
    path("studies/<int:study_id>/status/", views.study_status, name="study-status"),
    path("studies/<int:study_id>/report.pdf", views.study_report_pdf, name="study-report-pdf"),
    path("studies/<int:study_id>/review/", views.study_review, name="study-review"),
    path("studies/<int:study_id>/files/<str:kind>/", views.study_file, name="study-file"),
    path("studies/<int:study_id>/visits.png", views.study_visits_chart, name="study-visits-chart"),
    path("reading/", views.worklist, name="worklist"),
    path("reading/<int:study_id>/", views.reading, name="reading"),
    path("reading/<int:study_id>/sign/", views.reading_sign, name="reading-sign"),
    path("admin/", admin.site.urls),
    path("api/dicomweb/", include("clinic.pacs.urls")),
    path("api/", include("clinic.api.urls")),
]

handler400 = "clinic.error_pages.bad_request"
handler403 = "clinic.error_pages.permission_denied"
handler404 = "clinic.error_pages.page_not_found"
handler500 = "clinic.error_pages.server_error"

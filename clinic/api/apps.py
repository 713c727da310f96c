"""The API as its own small app, so that its table (API tokens) migrates on its own."""

from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "clinic.api"
    label = "clinic_api"
    verbose_name = "REST API"
    default_auto_field = "django.db.models.BigAutoField"

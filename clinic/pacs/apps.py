from __future__ import annotations

from django.apps import AppConfig


class PacsConfig(AppConfig):
    name = "clinic.pacs"
    label = "pacs"
    verbose_name = "PACS connection"
    default_auto_field = "django.db.models.BigAutoField"

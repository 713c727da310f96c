"""Django app configuration of the clinic."""

from __future__ import annotations

from django.apps import AppConfig


class ClinicConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "clinic"
    verbose_name = "Bone-age clinic"

    def ready(self) -> None:
        from clinic import login_lockout  # noqa: F401  (connects the lockout's audit line)

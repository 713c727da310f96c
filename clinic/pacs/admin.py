"""The admin of the PACS connection: the institution's DICOM nodes, and every delivery with its
state and last error, resendable; scoped by ``clinic.access`` as every admin of the site."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from clinic.admin_scope import ScopedAdmin
from clinic.pacs import services
from clinic.pacs.models import Delivery, DicomNode


@admin.register(DicomNode)
class DicomNodeAdmin(ScopedAdmin):
    list_display = ["name", "institution", "role", "ae_title", "host", "port", "stow_url",
                    "enabled"]  # fmt: skip
    list_filter = ["role", "enabled", ("institution", admin.RelatedOnlyFieldListFilter)]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DicomNode]:
        return super().get_queryset(request).select_related("institution")


@admin.register(Delivery)
class DeliveryAdmin(ScopedAdmin):
    list_display = ["study", "destination", "kind", "status", "attempts", "next_try",
                    "last_error", "sent_at"]  # fmt: skip
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["resend"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).select_related("study", "destination")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Send again now", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = 0
        for delivery in queryset.exclude(status=Delivery.Status.SENT):
            services.delivery_resend(delivery=delivery)
            count += 1
        self.message_user(request, f"{count} deliveries queued to be sent again.", messages.INFO)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.readonly_fields

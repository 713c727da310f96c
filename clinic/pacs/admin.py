"""The admin of the PACS connection: the institution's DICOM nodes, and every delivery with its
state and last error, resendable; staff who are not superusers see their institution's only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from clinic.pacs import selectors, services
from clinic.pacs.models import Delivery, DicomNode


@admin.register(DicomNode)
class DicomNodeAdmin(admin.ModelAdmin):
    list_display = ["name", "institution", "role", "ae_title", "host", "port", "stow_url",
                    "enabled"]  # fmt: skip
    list_filter = ["role", "enabled", "institution"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DicomNode]:
        return selectors.nodes_visible_to(request.user).select_related("institution")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["study", "destination", "kind", "status", "attempts", "next_try",
                    "last_error", "sent_at"]  # fmt: skip
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["resend"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return selectors.deliveries_visible_to(request.user).select_related("study", "destination")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Send again now")
    def resend(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = 0
        for delivery in queryset.exclude(status=Delivery.Status.SENT):
            services.delivery_resend(delivery=delivery)
            count += 1
        self.message_user(request, f"{count} deliveries queued to be sent again.", messages.INFO)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.readonly_fields

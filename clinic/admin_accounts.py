"""The accounts' admins: institutions, memberships, users, permission groups, and django-axes'
records of login attempts and lockouts.

Scoped by ``clinic.access`` like the patient data: a staff user manages the accounts of their own
institution (a user they add is a member of it); a superuser those of every institution. Only a
superuser makes institutions or grants superuser rights, groups and permissions: a staff user who
could would widen their own reach (``manage.py add_user`` makes a user inside any institution).
"""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest

from clinic import access
from clinic.admin_scope import ScopedAdmin
from clinic.models import Institution, Membership

_GRANTS = ("is_superuser", "groups", "user_permissions")


@admin.register(Institution)
class InstitutionAdmin(ScopedAdmin):
    list_display = ["name", "patient_id_system", "accession_system", "created_at"]
    search_fields = ["name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser


@admin.register(Membership)
class MembershipAdmin(ScopedAdmin):
    list_display = ["user", "institution"]
    list_filter = [("institution", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "institution__name"]
    autocomplete_fields = ["user"]


admin.site.unregister(get_user_model())
admin.site.unregister(Group)


@admin.register(get_user_model())
class ClinicUserAdmin(ScopedAdmin, UserAdmin):
    """Django's user admin, scoped; a staff user cannot grant rights beyond their own."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else [*fields, *_GRANTS]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """A staff user adds users to their own institution; a superuser, users of none (to
        place them with a membership)."""
        may_place = request.user.is_superuser or access.institution_id_of(request.user)
        return bool(may_place) and super().has_add_permission(request)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        institution_id = access.institution_id_of(request.user)
        if not change and not request.user.is_superuser and institution_id is not None:
            Membership.objects.create(user=obj, institution_id=institution_id)


@admin.register(Group)
class ClinicGroupAdmin(ScopedAdmin, GroupAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


# django-axes registers its own, unscoped: the same pages, scoped to the visible users'
# usernames. Its "clean up expired attempts" action is left out: it cleans every institution's,
# whatever is selected (and needs a request of a login). Deleting a user's attempts unlocks them.
for _model, _admin in (
    (AccessAttempt, AccessAttemptAdmin),
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
):
    admin.site.unregister(_model)
    admin.site.register(
        _model, type(f"Scoped{_admin.__name__}", (ScopedAdmin, _admin), {"actions": []})
    )

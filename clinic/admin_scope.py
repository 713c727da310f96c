"""The admin asks ``clinic.access`` before it shows or changes anything.

Django's admin narrows a list through ``get_queryset``, but several of its doors do not pass
through the list: django-simple-history's history views look the record up in the history table
(its ``history_form_view`` by primary key alone, and its revert saves without an edit check),
foreign-key choices list every row of the related table, and ``has_*_permission`` answer per model,
never per record. :class:`ScopedAdmin` closes each of those doors with the one policy of
``clinic.access``; every ModelAdmin of the site inherits it, which
``tests/clinic/test_admin_tenancy.py`` checks for every registered model.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from clinic import access


def _visible(request: HttpRequest, model: type[Model]) -> QuerySet[Any]:
    return access.visible_to(request.user, model)


def _scope(queryset: QuerySet[Any], request: HttpRequest) -> QuerySet[Any]:
    """``queryset`` narrowed to the rows of its model that the user may see (its own order,
    annotations and joins kept)."""
    return queryset.filter(pk__in=_visible(request, queryset.model).values("pk"))


class ScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin that lists, opens, changes, deletes and offers as a choice only what the user
    may see; a record outside is a 404 (the admin's "does not exist"), never a 403."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return _scope(super().get_queryset(request), request)

    def _may_see(self, request: HttpRequest, obj: Model | None) -> bool:
        return obj is None or _visible(request, self.model).filter(pk=obj.pk).exists()

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_view_permission(request, obj) and self._may_see(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_see(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_see(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """Choices of the records the user may see (Django lists the whole related table)."""
        queryset = kwargs.get("queryset", db_field.remote_field.model._default_manager.all())
        kwargs["queryset"] = _scope(queryset, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        queryset = kwargs.get("queryset", db_field.remote_field.model._default_manager.all())
        kwargs["queryset"] = _scope(queryset, request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_object_or_404(self, request: HttpRequest, object_id: str) -> Model:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such record")
        return obj


class ScopedHistoryAdmin(ScopedAdmin, SimpleHistoryAdmin):
    """:class:`ScopedAdmin` with the audit history of django-simple-history, whose two views are
    made to find the record through the scoped queryset first: a record the user may not see has
    no history for them, not even a deleted one's. Restoring an older version (a POST to the
    history form) needs the right to change that very record, which includes its institution."""

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self.get_object_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        obj = self.get_object_or_404(request, object_id)
        if request.method == "POST" and not self.has_change_permission(request, obj):
            raise PermissionDenied("Restoring a version needs the right to change this record.")
        return super().history_form_view(request, object_id, version_id, extra_context)


class ScopedInline(admin.TabularInline):
    """An inline that shows only the rows the user may see."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return _scope(super().get_queryset(request), request)

"""API tokens in the admin: make one (its clear token shown once), see which integrations exist
and when they last called, revoke.

Scoped like every admin (``clinic.admin_scope``): a staff user sees and makes tokens of their own
institution's users only, and revoking needs the right to change tokens. The clear token is in
the reply to the form that made it and nowhere else (not in a message, which travels in a cookie
or the session): only its digest is stored, so a lost token is revoked and replaced.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from clinic.admin_scope import ScopedAdmin
from clinic.api.models import ApiToken
from clinic.api.tokens import api_token_create, api_tokens_revoke


class ApiTokenAddForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name"]

    def clean_user(self) -> Any:
        user = self.cleaned_data["user"]
        if not hasattr(user, "membership"):
            raise forms.ValidationError(
                "This user belongs to no institution: the token would see nothing."
            )
        return user


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedAdmin):
    list_display = ["name", "user", "prefix", "created", "last_used", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["user", "name", "prefix", "created", "last_used", "revoked_at"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ["user", "name"]

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> ApiToken:
        """A new token through ``api_token_create`` (the only maker of digests); the clear
        token is kept on the request for :meth:`response_add`, nowhere else."""
        if change:
            return form.instance
        row, request.clear_api_token = api_token_create(
            user=form.cleaned_data["user"], name=form.cleaned_data["name"]
        )
        return row

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        """Saved by ``save_form``; a token is never edited (revoke it and make another)."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """A token has no related objects to save."""

    def response_add(self, request: HttpRequest, obj: ApiToken, *args: Any) -> HttpResponse:
        response = TemplateResponse(
            request,
            "admin/clinic_api/apitoken/created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "token_row": obj,
                "clear_token": request.clear_api_token,
                "title": f"Token {obj.name} made",
            },
        )
        response["Cache-Control"] = "no-store"  # the page holds the clear token
        return response

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = api_tokens_revoke(tokens=queryset)
        self.message_user(request, f"Revoked {count} token(s).")

"""``/api/dicomweb/``: the DICOMweb door of the clinic (STOW-RS)."""

from __future__ import annotations

from django.urls import path

from clinic.pacs.stow import StowApi

app_name = "dicomweb"

urlpatterns = [path("studies", StowApi.as_view(), name="stow")]

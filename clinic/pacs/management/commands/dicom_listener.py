"""``manage.py dicom_listener``: the C-STORE SCP (clinic.pacs.listener), on the AE title and port
of the settings (BONEAGE_DICOM_AE_TITLE, BONEAGE_DICOM_HOST, BONEAGE_DICOM_PORT)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from clinic.pacs.listener import serve


class Command(BaseCommand):
    help = "Receive hand radiographs over DICOM C-STORE until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=settings.BONEAGE_DICOM_HOST)
        parser.add_argument("--port", type=int, default=settings.BONEAGE_DICOM_PORT)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        self.stdout.write(f"{settings.BONEAGE_DICOM_AE_TITLE} listening on {host}:{port}")
        self.stdout.flush()
        serve(host=host, port=port)

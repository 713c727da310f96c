"""``manage.py bootstrap_demo``: the demo institution, users and one study, so a first start shows a
report. Idempotent: running it again changes nothing that exists.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from PIL import Image

from clinic import services
from clinic.models import Institution, Membership, Study

DEMO_INSTITUTION = "Demo Hospital"
DEMO_USERS = (("demo", "demo", False), ("admin", "admin", True))
DEMO_PHANTOM = {"seed": 7, "age_months": 126.0, "sex": "F"}


def phantom_png(*, seed: int, age_months: float, sex: str) -> bytes:
    """A synthetic hand radiograph of known age and sex as 16-bit PNG bytes."""
    from boneage.phantom import generate_phantom

    phantom = generate_phantom(seed, age_months=age_months, sex=sex)
    pixels = np.clip(phantom.image * 65535.0, 0, 65535).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


class Command(BaseCommand):
    help = "Create the demo institution, the demo and admin users and a demo study (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        institution, _ = Institution.objects.get_or_create(name=DEMO_INSTITUTION)
        users = {}
        for username, password, is_admin in DEMO_USERS:
            user, created = get_user_model().objects.get_or_create(
                username=username, defaults={"is_staff": is_admin, "is_superuser": is_admin}
            )
            if created:
                user.set_password(password)
                user.save()
                self.stdout.write(f"user {username!r} created, password {password!r}")
            Membership.objects.get_or_create(user=user, defaults={"institution": institution})
            users[username] = user
        if Study.objects.filter(uploaded_by=users["demo"]).exists():
            self.stdout.write("demo study exists")
            return
        upload = SimpleUploadedFile("demo-phantom.png", phantom_png(**DEMO_PHANTOM), "image/png")
        study = services.study_create(
            user=users["demo"],
            file=upload,
            sex=DEMO_PHANTOM["sex"],
            chronological_age_months=DEMO_PHANTOM["age_months"],
        )
        self.stdout.write(f"demo study {study.pk} queued")

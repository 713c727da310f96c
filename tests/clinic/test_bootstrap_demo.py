"""``manage.py bootstrap_demo``: demo users and one queued phantom study, and idempotent."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from clinic.models import Institution, Study


def test_bootstrap_creates_the_demo_once(db):
    call_command("bootstrap_demo")
    call_command("bootstrap_demo")
    assert list(Institution.objects.values_list("name", flat=True)) == ["Demo Hospital"]
    request = RequestFactory().post("/login/")  # the login throttle counts per request
    demo = authenticate(request, username="demo", password="demo")
    admin = authenticate(request, username="admin", password="admin")
    assert demo.membership.institution.name == "Demo Hospital"
    assert admin.is_superuser and not demo.is_staff
    study = Study.objects.get()
    assert (study.uploaded_by, study.status, study.sex) == (demo, "queued", "F")

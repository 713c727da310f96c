"""``manage.py add_user`` (``clinic.accounts.user_create``): a user made inside an institution,
and docs/api.md's token example, run as written after the demo is prepared."""

from __future__ import annotations

import io
import re
import shlex
from pathlib import Path

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from rest_framework.test import APIClient

from clinic.accounts import AccountError, user_create
from clinic.models import Institution

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_add_user_makes_a_member_and_says_so(db: None) -> None:
    out = _run("add_user", "dr-lee", "--institution", "North", "--create-institution",
               "--staff", "--password", "a long passphrase")  # fmt: skip
    assert out.splitlines() == [
        "institution 'North' created",
        "staff user 'dr-lee' created in 'North', with the password given",
    ]
    request = RequestFactory().post("/login/")
    user = authenticate(request, username="dr-lee", password="a long passphrase")
    assert user.is_staff and not user.is_superuser and user.membership.institution.name == "North"


def test_a_user_without_a_password_cannot_log_in(db: None) -> None:
    Institution.objects.create(name="North")
    assert "with no password (token only)" in _run("add_user", "bot", "--institution", "North")
    assert not get_user_model().objects.get(username="bot").has_usable_password()


def test_add_user_refuses_in_words(db: None) -> None:
    Institution.objects.create(name="North")
    with pytest.raises(CommandError, match=r"No institution 'South' \(there are: 'North'\)"):
        _run("add_user", "x", "--institution", "South")
    user_create(username="x", institution_name="North")
    with pytest.raises(AccountError, match="exists already"):
        user_create(username="x", institution_name="North")
    assert not Institution.objects.filter(name="South").exists()


def test_the_token_example_of_the_api_doc_works_as_written(db: None) -> None:
    """What `make run` prepares (the demo), then docs/api.md's commands, verbatim."""
    _run("bootstrap_demo")
    block = re.search(r"## Tokens.*?```bash\n(.*?)```", API_DOC.read_text(), re.S).group(1)
    commands = [shlex.split(line.split("  #")[0]) for line in block.splitlines()]
    assert [c[:3] for c in commands][0] == ["python", "manage.py", "add_user"]
    tokens = []
    for command in commands:
        out = io.StringIO()
        call_command(*command[2:], stdout=out, stderr=io.StringIO())
        if command[2] == "create_api_token" and "--revoke" not in command:
            tokens.append(out.getvalue().strip())
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[-1]}")
            demo_studies = client.get("/api/v1/studies/").json()["results"]
            assert len(demo_studies) == 1  # the demo study, of Demo Hospital
    assert len(tokens) == 1
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[0]}")
    assert client.get("/api/v1/studies/").status_code == 401  # revoked by the last line

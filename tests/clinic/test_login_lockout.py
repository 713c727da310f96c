"""20 wrong passwords lock a username for 15 minutes, on the site's login and the admin's; the page
says until when; the right password is refused meanwhile; other users log in as before."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse


def _wrong(client: Client, url: str, username: str, times: int) -> Any:
    for _ in range(times):
        response = client.post(url, {"username": username, "password": "wrong"})
    return response


@pytest.mark.parametrize("login", ["login", "admin:login"])
def test_twenty_wrong_passwords_lock_the_username_until_a_named_time(
    make_user: Any, institution: Any, login: str, caplog: pytest.LogCaptureFixture
) -> None:
    make_user("nurse", institution, is_staff=True)
    make_user("doctor", institution, is_staff=True)
    url = reverse(login)
    client = Client()
    assert _wrong(client, url, "nurse", 19).status_code == 200  # the form again, not locked
    with caplog.at_level(logging.WARNING, logger="clinic.login_lockout"):
        locked = _wrong(client, url, "nurse", 1)
    assert locked.status_code == 429
    text = locked.content.decode()
    until = datetime.fromisoformat(re.search(r'datetime="([^"]+)"', text).group(1))
    now = datetime.now(UTC)
    assert timedelta(minutes=14) < until - now <= timedelta(minutes=15)
    assert f"{until:%H:%M} UTC" in text and "Try again then" in text
    assert 14 * 60 < int(locked["Retry-After"]) <= 15 * 60
    assert [r.getMessage() for r in caplog.records if r.name == "clinic.login_lockout"] == [
        f"login locked username=nurse until={until.isoformat(timespec='seconds')}"
    ]
    right = Client().post(url, {"username": "nurse", "password": "pw"})
    assert right.status_code == 429 and "_auth_user_id" not in right.client.session
    other = Client()
    assert other.post(url, {"username": "doctor", "password": "pw"}).status_code == 302
    assert other.session["_auth_user_id"]


def test_the_lock_ends_after_fifteen_minutes(make_user: Any, institution: Any) -> None:
    from axes.models import AccessAttempt

    make_user("nurse", institution)
    _wrong(Client(), reverse("login"), "nurse", 20)
    AccessAttempt.objects.update(attempt_time=datetime.now(UTC) - timedelta(minutes=16))
    client = Client()
    assert client.post(reverse("login"), {"username": "nurse", "password": "pw"}).status_code == 302

"""Who may call the API: hashed per-integration tokens, sessions, institutions, rate limits."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from clinic.api.models import ApiToken
from clinic.api.tokens import api_token_create

LIST = "/api/v1/studies/"


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _command_token(*args: str) -> str:
    out = io.StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_anonymous_call_is_401_with_a_bearer_challenge(db: None, method: str):
    response = getattr(APIClient(), method)(LIST)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "not_authenticated"


def test_an_unknown_token_is_401(db: None):
    response = _bearer("not-a-token").get(LIST)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_the_command_prints_a_working_token_and_stores_only_its_digest(user: Any):
    token = _command_token(user.username, "--name", "pacs")
    assert _bearer(token).get(LIST).status_code == 200
    row = ApiToken.objects.get(user=user, name="pacs")
    stored = {str(value) for value in ApiToken.objects.values_list().get(pk=row.pk)}
    assert token not in stored
    assert row.digest != token and len(row.digest) == 64
    assert row.last_used is not None


def test_a_revoked_token_is_401(user: Any):
    token = _command_token(user.username, "--name", "ris")
    call_command(
        "create_api_token", user.username, "--name", "ris", "--revoke", stderr=io.StringIO()
    )
    assert _bearer(token).get(LIST).status_code == 401


def test_revoking_a_name_leaves_the_other_integrations_working(user: Any):
    kept = _command_token(user.username, "--name", "pacs")
    _command_token(user.username, "--name", "ris")
    call_command(
        "create_api_token", user.username, "--name", "ris", "--revoke", stderr=io.StringIO()
    )
    assert _bearer(kept).get(LIST).status_code == 200


def test_revoking_a_name_without_tokens_is_an_error(user: Any):
    with pytest.raises(CommandError, match="no active token"):
        call_command("create_api_token", user.username, "--name", "none", "--revoke")


def test_no_token_for_an_unknown_user_or_one_without_institution(db: None):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="loner", password="pw")
    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "ghost")
    with pytest.raises(CommandError, match="no institution"):
        call_command("create_api_token", "loner")
    assert not ApiToken.objects.exists()


def test_a_token_of_an_inactive_user_is_401(user: Any, token: str):
    user.is_active = False
    user.save()
    assert _bearer(token).get(LIST).status_code == 401


def test_a_user_without_institution_sees_nothing_and_may_not_upload(db: None, phantom_png):
    from django.contrib.auth import get_user_model

    loner = get_user_model().objects.create_user(username="loner", password="pw")
    client = _bearer(api_token_create(user=loner, name="x")[1])
    assert client.get(LIST).json()["count"] == 0
    response = client.post(LIST, {"image": io.BytesIO(phantom_png), "sex": "F"}, format="multipart")
    assert response.status_code == 403


def test_a_browser_session_works_too(user: Any):
    client = APIClient()
    client.force_login(user)
    assert client.get(LIST).status_code == 200


def test_the_rate_limit_is_per_token_and_answers_429_with_retry_after(user: Any, settings: Any):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_token": "2/min"},
    }
    busy = _bearer(api_token_create(user=user, name="busy")[1])
    quiet = _bearer(api_token_create(user=user, name="quiet")[1])
    assert [busy.get(LIST).status_code for _ in range(3)] == [200, 200, 429]
    throttled = busy.get(LIST)
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    assert quiet.get(LIST).status_code == 200


def test_the_admin_revokes_the_selected_tokens(user: Any, token: str, admin_client: Any):
    row = ApiToken.objects.get(user=user)
    response = admin_client.post(
        "/admin/clinic_api/apitoken/", {"action": "revoke", "_selected_action": [row.pk]}
    )
    assert response.status_code == 302
    assert _bearer(token).get(LIST).status_code == 401


def test_the_token_keyword_works_as_bearer_does(user: Any):
    """``Authorization: Token …`` once answered "credentials were not provided"."""
    token = _command_token(user.username, "--name", "ris")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(LIST).status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = client.get(LIST)
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"

"""Services and selectors of API tokens: create (the clear token returned once), revoke, find."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from clinic.api.models import ApiToken

TOKEN_BYTES = 32
"""256 random bits: unguessable, so a plain digest is a safe thing to store."""

LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used`` is written at most this often, so that reads do not each cost a write."""


def token_digest(token: str) -> str:
    """Hex SHA-256 of a clear token: what the database keeps and looks up."""
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new active token for ``user``; returns the row and the clear token (not stored)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = ApiToken.objects.create(
        user=user, name=name, prefix=token[:8], digest=token_digest(token)
    )
    return row, token


def api_tokens_revoke(*, tokens: QuerySet[ApiToken]) -> int:
    """Revoke the active ones among ``tokens`` (kept, for the record); returns how many."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_token_revoke(*, user: AbstractBaseUser, name: str) -> int:
    """Revoke every active token of ``user`` named ``name``; returns how many were revoked."""
    return api_tokens_revoke(tokens=ApiToken.objects.filter(user=user, name=name))


def api_token_get_active(*, token: str) -> ApiToken | None:
    """The active token row for a clear token, with its user, or None; records the use."""
    row = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(token), revoked_at__isnull=True)
        .first()
    )
    if row is None:
        return None
    now = timezone.now()
    if row.last_used is None or now - row.last_used > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=row.pk).update(last_used=now)
        row.last_used = now
    return row

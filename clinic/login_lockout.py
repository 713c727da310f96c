"""The lockout of a username after too many wrong passwords (django-axes): the page that says
when to try again, and the audit line of each lockout.

django-axes counts the failures and refuses the login; this module words the refusal. The page
names the time the lock ends, answers 429 with ``Retry-After`` (seconds), and is the same on the
site's login and the admin's, since both log in through Django's ``authenticate``.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Any

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.db.models import Max
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

logger = logging.getLogger(__name__)


def unlocked_at(request: HttpRequest, username: str) -> datetime:
    """When the lock of ``username`` ends: its last counted failure plus the cool-off time."""
    last = AccessAttempt.objects.filter(username=username).aggregate(at=Max("attempt_time"))["at"]
    return (last or timezone.now()) + get_cool_off(request)


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """django-axes' lockout callable: the lockout page, 429, ``Retry-After``."""
    username = get_client_username(request, credentials) or ""
    until = unlocked_at(request, username)
    seconds = max(1, math.ceil((until - timezone.now()).total_seconds()))
    response = render(
        request,
        "registration/lockout.html",
        {"until": until, "minutes": math.ceil(seconds / 60)},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


@receiver(user_locked_out)
def log_lockout(sender: Any, request: HttpRequest, username: str | None, **kwargs: Any) -> None:
    """One audit line per lockout: the username and until when (no password, no address)."""
    logger.warning(
        "login locked username=%s until=%s",
        username or "",
        unlocked_at(request, username or "").isoformat(timespec="seconds"),
    )

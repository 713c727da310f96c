"""What a user may see: the one policy that the pages, the REST API and the admin all ask.

Two kinds of record, two rules:

- **Patient data** (studies, their reports, reviews, deliveries to a PACS, and history): only the
  institution the user is a member of, for every user, a superuser included. A superuser
  administers the site; being one does not make another hospital's children visible (a user of
  no institution sees none).
- **The site's vocabulary** (permissions, permission groups, content types): the same for every
  institution and naming no one, so visible to all; who may *change* them is Django's permissions.
- **Accounts** (institutions, memberships, users, API tokens, PACS connections, and
  django-axes' records of logins and lockouts, which name a username and an address): a staff
  user sees those of their own institution; a superuser sees every institution's, because
  creating hospitals and their users is what a superuser is for. Accounts hold no patient data.

Every function returns a queryset (so callers add filters, ordering and ``select_related``), and a
record outside it is simply absent: a 404, never a 403 that would confirm it exists.
"""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, QuerySet

from clinic.api.models import ApiToken
from clinic.models import Institution, Membership, Report, Review, Study
from clinic.pacs.models import Delivery, DicomNode

AnyUser = AbstractBaseUser | AnonymousUser


def institution_id_of(user: AnyUser) -> int | None:
    """The id of the institution ``user`` works for, or None (anonymous, or no membership)."""
    if not user.is_authenticated:
        return None
    membership = getattr(user, "membership", None)
    return membership.institution_id if membership is not None else None


def studies_visible_to(user: AnyUser) -> QuerySet[Study]:
    """The studies of the user's institution; none for a user without one."""
    institution_id = institution_id_of(user)
    if institution_id is None:
        return Study.objects.none()
    return Study.objects.filter(institution_id=institution_id)


def reports_visible_to(user: AnyUser) -> QuerySet[Report]:
    return Report.objects.filter(study__in=studies_visible_to(user))


def reviews_visible_to(user: AnyUser) -> QuerySet[Review]:
    return Review.objects.filter(report__study__in=studies_visible_to(user))


def institutions_visible_to(user: AnyUser) -> QuerySet[Institution]:
    if user.is_authenticated and user.is_superuser:
        return Institution.objects.all()
    return Institution.objects.filter(pk=institution_id_of(user))


def memberships_visible_to(user: AnyUser) -> QuerySet[Membership]:
    return Membership.objects.filter(institution__in=institutions_visible_to(user))


def users_visible_to(user: AnyUser) -> QuerySet[AbstractBaseUser]:
    """Users of the visible institutions; a superuser also sees users of none (to place them)."""
    users = get_user_model().objects.all()
    if user.is_authenticated and user.is_superuser:
        return users
    return users.filter(membership__institution__in=institutions_visible_to(user))


def api_tokens_visible_to(user: AnyUser) -> QuerySet[ApiToken]:
    """Tokens of the visible users: a token acts as its user, so it is that user's account."""
    return ApiToken.objects.filter(user__in=users_visible_to(user))


def deliveries_visible_to(user: AnyUser) -> QuerySet[Delivery]:
    """Deliveries to a PACS are of a study, so patient data: the study's rule."""
    return Delivery.objects.filter(study__in=studies_visible_to(user))


def dicom_nodes_visible_to(user: AnyUser) -> QuerySet[DicomNode]:
    """An institution's PACS connection is part of its account: the institution's rule."""
    return DicomNode.objects.filter(institution__in=institutions_visible_to(user))


def login_records_visible_to(user: AnyUser, model: type[Model]) -> QuerySet[Any]:
    """django-axes' records (by username, not a key): those of the visible users; a superuser
    also sees the attempts on usernames that exist nowhere, which is what an attack tries."""
    records = model._default_manager.all()
    if user.is_authenticated and user.is_superuser:
        return records
    usernames = users_visible_to(user).values(get_user_model().USERNAME_FIELD)
    return records.filter(username__in=usernames)


LOGIN_RECORDS = (AccessAttempt, AccessLog, AccessFailureLog)

VISIBLE_TO = {
    Study: studies_visible_to,
    Report: reports_visible_to,
    Review: reviews_visible_to,
    Institution: institutions_visible_to,
    Membership: memberships_visible_to,
    ApiToken: api_tokens_visible_to,
    Delivery: deliveries_visible_to,
    DicomNode: dicom_nodes_visible_to,
}

SHARED = (Group, Permission, ContentType)
"""Models of the site's vocabulary: one set for every institution, holding nothing of any."""


def visible_to(user: AnyUser, model: type[Model]) -> QuerySet[Model]:
    """The records of ``model`` (or of the concrete model of a proxy) that ``user`` may see.

    ``LookupError`` for a model this policy does not know: a new model is refused until the policy
    says who may see it, rather than shown to everyone.
    """
    concrete = model._meta.concrete_model
    if concrete is get_user_model():
        return users_visible_to(user)
    if concrete in SHARED:
        return concrete._default_manager.all()
    if concrete in LOGIN_RECORDS:
        return login_records_visible_to(user, concrete)
    try:
        visible = VISIBLE_TO[concrete]
    except KeyError:
        raise LookupError(f"clinic.access has no visibility rule for {concrete.__name__}") from None
    return visible(user)

"""Accounts: a user made inside an institution in one step.

Django's ``createsuperuser`` makes a user of no institution, who sees nothing; a clinician or an
integration's user needs a membership from the start, so it is made here, together with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from clinic.models import Institution, Membership


class AccountError(ValueError):
    """A user that cannot be made as asked, said in words."""


@dataclass(frozen=True)
class NewUser:
    user: AbstractBaseUser
    institution: Institution
    institution_created: bool


@transaction.atomic
def user_create(
    *,
    username: str,
    institution_name: str,
    staff: bool = False,
    password: str | None = None,
    create_institution: bool = False,
) -> NewUser:
    """A new user, member of the institution named ``institution_name``.

    Without ``password`` the user has none that works (an integration's user, who calls the API
    with a token; ``manage.py changepassword`` gives one later). ``AccountError`` when the
    username is taken or the institution does not exist (unless ``create_institution``).
    """
    users = get_user_model()
    if users.objects.filter(**{users.USERNAME_FIELD: username}).exists():
        raise AccountError(f"A user {username!r} exists already.")
    institution = Institution.objects.filter(name=institution_name).first()
    created = institution is None
    if created and not create_institution:
        known = ", ".join(repr(n) for n in Institution.objects.values_list("name", flat=True))
        raise AccountError(
            f"No institution {institution_name!r} (there are: {known or 'none'}); "
            "pass --create-institution to make it."
        )
    if created:
        institution = Institution.objects.create(name=institution_name)
    user = users.objects.create_user(
        **{users.USERNAME_FIELD: username}, password=password, is_staff=staff
    )
    Membership.objects.create(user=user, institution=institution)
    return NewUser(user=user, institution=institution, institution_created=created)

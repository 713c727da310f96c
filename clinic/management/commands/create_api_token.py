"""``manage.py create_api_token USERNAME [--name NAME] [--revoke]``: one integration's token.

The clear token is printed once, on stdout alone (so ``TOKEN=$(… create_api_token …)`` works);
only its digest is stored, so a lost token is revoked and replaced, never recovered.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.api.tokens import api_token_create, api_token_revoke


class Command(BaseCommand):
    help = "Print a new API token for USERNAME, or revoke that user's tokens of a name."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--name", default="default", help="which integration uses it (default: %(default)s)"
        )
        parser.add_argument(
            "--revoke", action="store_true", help="revoke the user's active tokens of this name"
        )

    def handle(self, *args: Any, username: str, name: str, revoke: bool, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model.objects.get(**{user_model.USERNAME_FIELD: username})
        except user_model.DoesNotExist as error:
            raise CommandError(f"No user {username!r}.") from error
        if revoke:
            count = api_token_revoke(user=user, name=name)
            if not count:
                raise CommandError(f"{username} has no active token named {name!r}.")
            self.stderr.write(f"Revoked {count} token(s) named {name!r} of {username}.")
            return
        if not hasattr(user, "membership"):
            raise CommandError(
                f"{username} belongs to no institution: the token would see nothing."
            )
        _row, token = api_token_create(user=user, name=name)
        self.stdout.write(token)

"""``manage.py add_user USERNAME --institution NAME [--staff] [--password P]
[--create-institution]``: a clinician or an integration's user, inside an institution."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.accounts import AccountError, user_create


class Command(BaseCommand):
    help = "Make a user who is a member of an institution, and say what was made."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--institution", required=True, help="the institution's name")
        parser.add_argument("--staff", action="store_true", help="may log in to the admin")
        parser.add_argument(
            "--password", help="without one, the user has no password that works (token only)"
        )
        parser.add_argument(
            "--create-institution", action="store_true", help="make the institution if it is new"
        )

    def handle(self, *args: Any, username: str, institution: str, staff: bool,
               password: str | None, create_institution: bool, **options: Any) -> None:  # fmt: skip
        try:
            made = user_create(
                username=username,
                institution_name=institution,
                staff=staff,
                password=password,
                create_institution=create_institution,
            )
        except AccountError as error:
            raise CommandError(str(error)) from error
        if made.institution_created:
            self.stdout.write(f"institution {made.institution.name!r} created")
        role = "staff user" if staff else "user"
        login = "with the password given" if password else "with no password (token only)"
        self.stdout.write(f"{role} {username!r} created in {made.institution.name!r}, {login}")

#!/usr/bin/env python
"""Django's command-line entry point for the clinic web app."""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run a Django management command with the clinic settings."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings.local")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    if os.environ["DJANGO_SETTINGS_MODULE"] == "clinic.settings.local":
        # The embedded run keeps its database, media and broker queue under var/: made here,
        # by the command, because importing the settings must not touch the disk.
        broker = settings.VAR_DIR / "broker"
        for folder in (
            settings.MEDIA_ROOT,
            broker / "queue",
            broker / "processed",
            broker / "control",
        ):
            folder.mkdir(parents=True, exist_ok=True)

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

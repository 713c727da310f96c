"""``manage.py pacs_connect``: connect an institution's PACS without the admin (a deployment's
start, the compose file); idempotent (``clinic.pacs.services.nodes_connect``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from clinic.pacs.services import nodes_connect


class Command(BaseCommand):
    help = "Allow a PACS to send films (--caller AE) and send results to it (--destination)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--institution", required=True)
        parser.add_argument("--caller", default="", metavar="AE", help="its calling AE title")
        parser.add_argument("--destination", default="", metavar="AE@HOST:PORT")
        parser.add_argument("--stow-url", default="", help="a DICOMweb root, instead")
        parser.add_argument("--files-as", default="", metavar="USERNAME")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["destination"] and not options["destination"].count("@") == 1:
            raise CommandError("--destination is AE@HOST:PORT, e.g. ORTHANC@orthanc:4242")
        nodes = nodes_connect(
            institution_name=options["institution"],
            caller_ae_title=options["caller"],
            destination=options["destination"],
            stow_url=options["stow_url"],
            files_as=options["files_as"],
        )
        for node in nodes:
            self.stdout.write(f"connected {node}")

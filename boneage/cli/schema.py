"""``boneage schema``: the JSON Schema of the assessment contract, for integrators.

Generated from :mod:`boneage.contract`, the definition ``boneage assess --json``, the worker and
the REST API's ``report`` all follow; ``docs/assessment.schema.json`` is this output.
"""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "schema", help="print the JSON Schema of the assessment (boneage assess --json)"
    )
    parser.set_defaults(handler=_schema)


def _schema(args: argparse.Namespace) -> int:
    from boneage.contract import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0

"""``boneage attach-curve CURVE.json [--models DIR]``: put a measured learning curve on the cards.

Every card in the model folder (the shipped demo models by default) gets the curve's points for
both methods (:func:`boneage.evaluation.curves.card_points`), so a report's confidence note
can say
where the other method stood at this model's training size. The model files are untouched (their
sha256 stays valid); only ``card.json`` files are rewritten.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from boneage.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "attach-curve", help="put a learning curve (learning_curve.json) on the model cards"
    )
    parser.add_argument("curve", type=Path, help="learning_curve.json of boneage learning-curve")
    parser.add_argument(
        "--models", type=Path, default=None, help="model folder (default: the demo models)"
    )
    parser.set_defaults(handler=_attach)


def _attach(args: argparse.Namespace) -> int:
    from boneage.evaluation.curves import card_points, read_table
    from boneage.modelcard import ModelCard
    from boneage.registry import DEFAULT_DIRECTORY, FOLDERS

    try:
        rows = read_table(args.curve)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"{args.curve} is not a learning_curve.json: {error}") from error
    points = card_points(rows, source=args.curve.name)
    if not points:
        raise InputError(f"{args.curve} has no rows of the shipped methods")
    models = args.models or DEFAULT_DIRECTORY
    for folder in FOLDERS.values():
        path = models / folder / "card.json"
        card = ModelCard.load(path)
        replace(card, learning_curve=points).save(path)
        print(f"{card.ident}: {len(points)} learning-curve points")
    return 0

"""``boneage evaluate DATASET``: the full assessment over a labelled folder, summarised."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="assess every image of an RSNA-layout folder and summarise both paths"
    )
    parser.add_argument("dataset", type=Path, help="folder with labels.csv and images/")
    parser.add_argument(
        "--split", default=None, help="only the images split.csv assigns to this split (val)"
    )
    parser.add_argument("--limit", type=int, default=None, help="a fixed random N of them")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="write the summary")
    parser.add_argument("--models", type=Path, help="model folder (default: the shipped models)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--attach",
        action="store_true",
        help="write the end-to-end figures onto the model folder's CNN card (quoted by notes)",
    )
    parser.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from boneage.cli import apply_threads
    from boneage.registry import DEFAULT_DIRECTORY, FOLDERS, load_models
    from boneage.training.evaluate_real import attach_to_card, evaluate_folder, format_evaluation

    apply_threads(args)
    evaluation = evaluate_folder(
        args.dataset, load_models(args.models), split=args.split, limit=args.limit
    )
    print(format_evaluation(evaluation))
    if args.json:
        args.json.write_text(json.dumps(evaluation.to_dict(), indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.attach:
        card_path = (args.models or DEFAULT_DIRECTORY) / FOLDERS["regression"] / "card.json"
        card = attach_to_card(evaluation, card_path)
        print(f"{card.ident}: card now quotes MAE {card.held_out.mae_months} on {card_path}")
    return 0

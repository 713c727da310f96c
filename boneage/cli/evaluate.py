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
    parser.add_argument(
        "--ages",
        type=_age_band,
        default=None,
        metavar="LO-HI",
        help="only the images whose label lies in this band of months (LO included), e.g. 0-24",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="write the summary")
    parser.add_argument("--models", type=Path, help="model folder (default: the shipped models)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--attach",
        action="store_true",
        help="write each path's figures onto its card in the model folder (the CNN's and the "
        "reference table's, which the notes quote)",
    )
    parser.add_argument(
        "--contact-sheet",
        type=Path,
        default=None,
        metavar="PNG",
        help="save the overlays of 12 images spanning the ages, both sexes, in one picture",
    )
    parser.add_argument(
        "--perturb",
        action="store_true",
        help="the consistency benchmark instead: each film as it is and after each harmless "
        "change (padding, turning, mirroring, resampling, exposure, noise, JPEG, bit depth, a "
        "burnt-in letter), and how far each path's estimate moves",
    )
    parser.add_argument(
        "--readings",
        action="store_true",
        help="the readings benchmark instead: each film given a chronological age at its true "
        "bone age ±0, 12, 24 and 36 months, and how often the reading names a band and is wrong",
    )
    parser.set_defaults(handler=_evaluate)


def _age_band(text: str) -> tuple[float, float]:
    """``LO-HI`` in months, LO below HI."""
    try:
        low, high = (float(part) for part in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a band of months LO-HI, e.g. 0-24"
        ) from None
    if not 0 <= low < high:
        raise argparse.ArgumentTypeError(f"{text!r}: the band needs 0 <= LO < HI")
    return low, high


def _evaluate(args: argparse.Namespace) -> int:
    from boneage.cli import apply_threads
    from boneage.evaluation.labelled_folder import (
        attach_to_cards,
        evaluate_folder,
        format_evaluation,
    )
    from boneage.registry import DEFAULT_DIRECTORY, load_models

    apply_threads(args)
    if args.perturb or args.readings:
        return _benchmark(args, load_models(args.models), "perturb" if args.perturb else "readings")
    sheet = None
    if args.contact_sheet:
        from boneage.evaluation.contact_sheet import ContactSheet
        from boneage.evaluation.labelled_folder import chosen_records

        chosen = chosen_records(args.dataset, args.split, args.limit, args.ages)
        sheet = ContactSheet.spanning(chosen)
    evaluation = evaluate_folder(
        args.dataset,
        load_models(args.models),
        split=args.split,
        limit=args.limit,
        ages=args.ages,
        keep=sheet.keep if sheet else None,
    )
    print(format_evaluation(evaluation))
    if args.json:
        args.json.write_text(json.dumps(evaluation.to_dict(), indent=2) + "\n")
        print(f"wrote {args.json}")
    if sheet:
        sheet.save(args.contact_sheet)
        print(f"wrote {args.contact_sheet}")
    if args.attach:
        for card in attach_to_cards(evaluation, args.models or DEFAULT_DIRECTORY):
            print(f"{card.ident}: card now quotes MAE {card.held_out.mae_months}")
    return 0


def _benchmark(args: argparse.Namespace, models, which: str) -> int:
    """``--perturb`` or ``--readings``: measure, print, and write the JSON when asked."""
    if which == "perturb":
        from boneage.evaluation.consistency import format_consistency as render
        from boneage.evaluation.consistency import measure_consistency as measure
    else:
        from boneage.evaluation.readings import format_readings as render
        from boneage.evaluation.readings import measure_readings as measure
    result = measure(args.dataset, models, split=args.split, limit=args.limit, ages=args.ages)
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return 0

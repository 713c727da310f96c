"""``boneage ensemble --cache CACHE --members DIR DIR ... --out DIR``: several end-to-end CNNs,
trained apart on one calibration slice, joined into one model (:mod:`boneage.training.cnn.ensemble`)
and measured on the cache's ``val``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ensemble", help="join end-to-end CNNs trained apart into one calibrated ensemble"
    )
    parser.add_argument("--cache", type=Path, required=True, help="the .npz of boneage cache")
    parser.add_argument(
        "--members", type=Path, nargs="+", required=True, help="folders of regress-real"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--landmarks", type=Path, default=None, help="a landmark model folder for the poses"
    )
    parser.add_argument("--name", default="cnn-ensemble-rsna")
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.set_defaults(handler=_ensemble)


def _ensemble(args: argparse.Namespace) -> int:
    from boneage.cli import apply_threads
    from boneage.registry import DEFAULT_DIRECTORY, FOLDERS, load_card, load_landmarks
    from boneage.training.cnn.ensemble import build_ensemble

    apply_threads(args)
    card, weights = load_card(args.landmarks or DEFAULT_DIRECTORY / FOLDERS["segmentation"])
    card = build_ensemble(
        args.cache,
        args.members,
        args.out,
        landmarks=load_landmarks(weights, card),
        name=args.name,
        version=args.version,
    )
    held_out = card.held_out
    print(
        f"{card.ident}: {held_out.kind} MAE {held_out.mae_months:.2f} months, 90 % interval "
        f"coverage {held_out.coverage_90:.1%} on {held_out.size} images"
    )
    print(f"wrote {args.out}")
    return 0

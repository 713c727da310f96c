"""``boneage train-demo``: reproduce the phantom-trained models (U-Net, reference, phantom CNN),
kept in the ``-phantom`` folders beside the shipped real-data models."""

from __future__ import annotations

import argparse
from pathlib import Path

from boneage.cli import add_compute_options, apply_threads


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-demo", help="train the phantom models that ship in boneage/demo_models"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="model folder to write (default: the package's demo_models)",
    )
    parser.add_argument(
        "--work", type=Path, default=Path("runs/demo"), help="folder for resumable checkpoints"
    )
    add_compute_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from boneage.phantom.demo import train_demo_models
    from boneage.registry import DEFAULT_DIRECTORY

    apply_threads(args)
    cards = train_demo_models(
        args.out or DEFAULT_DIRECTORY,
        work_dir=args.work,
        device=args.device,
        progress=lambda batches: tqdm(batches, unit="batch", leave=False),
    )
    for kind, card in cards.items():
        print(
            f"{kind}: {card.ident} held-out MAE {card.held_out.mae_months} months, "
            f"coverage {card.held_out.coverage_90}"
        )
    return 0

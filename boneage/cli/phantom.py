"""``boneage phantom``: write a phantom dataset (images, masks, labels) for training or testing."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "phantom", help="write a dataset of synthetic hand radiographs with bone masks"
    )
    parser.add_argument("--n", type=int, required=True, help="number of phantoms")
    parser.add_argument("--out", type=Path, required=True, help="output folder (new or empty)")
    parser.add_argument("--seed", type=int, required=True, help="dataset seed (0 or more)")
    parser.add_argument("--size", type=int, default=512, help="image side in pixels")
    parser.set_defaults(handler=_phantom)


def _phantom(args: argparse.Namespace) -> int:
    from boneage.phantom.dataset_writer import write_phantom_dataset

    with tqdm(total=args.n, desc="phantoms", unit="image") as bar:
        records = write_phantom_dataset(args.out, args.n, args.seed, args.size, progress=bar.update)
    print(f"wrote {len(records)} phantoms of {args.size} × {args.size} pixels to {args.out}")
    return 0

"""``boneage cache DATASET --out FILE``: decode a labelled dataset once for training."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cache", help="decode an RSNA-layout dataset once into an array for training"
    )
    parser.add_argument("dataset", type=Path, help="folder with labels.csv, images/, split.csv")
    parser.add_argument("--out", type=Path, required=True, help="the .npz to write")
    parser.add_argument("--workers", type=int, default=2, help="decoding processes")
    parser.add_argument(
        "--side", type=int, default=256, help="side of the cached squares in pixels"
    )
    parser.set_defaults(handler=_cache)


def _cache(args: argparse.Namespace) -> int:
    from boneage.training.common.image_cache import build_cache

    cache = build_cache(args.dataset, args.out, workers=args.workers, side=args.side)
    print(
        f"{len(cache.ids)} images cached in {args.out} "
        f"({int(cache.corrected.sum())} corrected by orientation)"
    )
    return 0

"""``boneage learning-curve DATASET``: held-out MAE against training-set size for both paths.

``DATASET`` is ``phantom`` (both paths: only phantoms carry bone masks for the U-Net) or the
folder of an RSNA-layout dataset (the end-to-end CNN only, which the command says). The table
and plot are rewritten after every row, so a run cut short keeps what it measured.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tqdm import tqdm

from boneage.cli import add_compute_options, apply_threads


def _ints(text: str) -> tuple[int, ...]:
    """Comma-separated non-negative integers (``"50,100,200"``)."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from error
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected non-negative integers, got {text!r}")
    return values


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "learning-curve", help="held-out MAE against training size, multi-step vs end-to-end"
    )
    parser.add_argument("dataset", help="'phantom' or the folder of an RSNA-layout dataset")
    parser.add_argument("--sizes", type=_ints, required=True, help="training sizes, e.g. 50,100")
    parser.add_argument("--seeds", type=_ints, default=(0,), help="replicates, e.g. 0,1")
    parser.add_argument(
        "--epochs-seg",
        type=int,
        default=10,
        help="U-Net epochs of the largest size; every size gets as many steps",
    )
    parser.add_argument(
        "--epochs-cnn",
        type=int,
        default=10,
        help="CNN epochs of the largest size; every size gets as many steps",
    )
    parser.add_argument("--held-out", type=int, default=60, help="held-out evaluation cases")
    parser.add_argument("--calibration", type=int, default=40, help="CNN calibration cases")
    parser.add_argument(
        "--selection", type=int, default=8, help="phantoms the U-Net selects its best epoch on"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    add_compute_options(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from boneage.training.learning_curve import (
        CurveConfig,
        folder_curve,
        phantom_curve,
        plot,
        write_table,
    )

    apply_threads(args)
    if 0 in args.sizes:
        print("error: training sizes must be positive", file=sys.stderr)
        return 2
    config = CurveConfig(
        sizes=args.sizes,
        seeds=args.seeds,
        epochs_seg=args.epochs_seg,
        epochs_cnn=args.epochs_cnn,
        n_held_out=args.held_out,
        n_calibration=args.calibration,
        n_selection=args.selection,
        device=args.device,
    )
    runs = len(config.sizes) * len(config.seeds)
    with tempfile.TemporaryDirectory(prefix="boneage-lc-") as work:
        if args.dataset == "phantom":
            rows_iter, per_run = phantom_curve(config, Path(work)), 4
            title = f"Phantoms: held-out MAE vs training size ({args.held_out} held out)"
        else:
            folder = Path(args.dataset)
            if not folder.is_dir():
                print(f"error: {folder} is neither 'phantom' nor a folder", file=sys.stderr)
                return 2
            print(
                f"{folder.name} has no bone masks: only the end-to-end CNN curve is measured.",
                file=sys.stderr,
            )
            rows_iter, per_run = folder_curve(config, folder), 2
            title = f"{folder.name}: held-out MAE vs training size (CNN only)"
        rows = []
        for row in tqdm(rows_iter, total=runs * per_run, desc="learning curve", unit="row"):
            rows.append(row)
            write_table(rows, config, args.out, dataset=args.dataset)
            plot(rows, args.out / "learning_curve.png", title=title)
    for row in rows:
        print(
            f"{row.method:18s} n={row.n_train:<5d} seed={row.seed} MAE {row.mae_months:6.2f} mo "
            f"coverage {row.coverage_90:.2f} rejected {row.n_rejected}/{row.n_held_out} "
            f"({row.seconds:.0f} s)"
        )
    print(f"wrote {args.out / 'learning_curve.csv'}, .json and .png")
    return 0

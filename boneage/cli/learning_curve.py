"""``boneage learning-curve DATASET``: held-out MAE against training-set size for both paths.

``DATASET`` is ``phantom`` (the phantom U-Net, its table and the phantom CNN) or the folder of
an RSNA-layout dataset with ``split.csv``, with ``--cache`` (its ``boneage cache``) and
``--unet`` (the landmark U-Net whose measurements the tables are fitted on):
:mod:`boneage.evaluation.real_curve`. The table and plot are rewritten after every row, so a run
cut short keeps what it measured; the real curve also skips the rows its folder already holds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
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
    parser.add_argument(
        "--calibration",
        type=int,
        default=None,
        help="calibration cases (phantoms: 40; real: 600 of train, as the shipped CNN)",
    )
    parser.add_argument(
        "--selection", type=int, default=8, help="phantoms the U-Net selects its best epoch on"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--cache", type=Path, default=None, help="real data: boneage cache .npz")
    parser.add_argument(
        "--unet", type=Path, default=None, help="real data: the landmark U-Net's folder"
    )
    parser.add_argument(
        "--methods",
        default="multistep-fitted,cnn,mean-age",
        help="real data: which rows to measure (multistep-fitted, cnn, mean-age)",
    )
    add_compute_options(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from boneage.evaluation.curves import plot, write_table
    from boneage.phantom import learning_curve
    from boneage.phantom.learning_curve import CurveConfig, curve_settings, phantom_curve

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
        n_calibration=args.calibration or 40,
        n_selection=args.selection,
        device=args.device,
    )
    runs = len(config.sizes) * len(config.seeds)
    with tempfile.TemporaryDirectory(prefix="boneage-lc-") as work:
        if args.dataset == "phantom":
            rows_iter, per_run = phantom_curve(config, Path(work)), 4
            title = f"Phantoms: held-out MAE vs training size ({args.held_out} held out)"
        else:
            return _run_real(args)
        rows = []
        for row in tqdm(rows_iter, total=runs * per_run, desc="learning curve", unit="row"):
            rows.append(row)
            write_table(
                rows,
                config,
                args.out,
                dataset=args.dataset,
                method=learning_curve.__doc__,
                settings=curve_settings(config),
            )
            plot(rows, args.out / "learning_curve.png", title=title)
    for row in rows:
        print(
            f"{row.method:18s} n={row.n_train:<5d} seed={row.seed} MAE {row.mae_months:6.2f} mo "
            f"coverage {row.coverage_90:.2f} rejected {row.n_rejected}/{row.n_held_out} "
            f"({row.seconds:.0f} s)"
        )
    print(f"wrote {args.out / 'learning_curve.csv'}, .json and .png")
    return 0


def _run_real(args: argparse.Namespace) -> int:
    from boneage.evaluation.curves import plot, read_table, write_table
    from boneage.evaluation.real_curve import RealCurveConfig, real_curve
    from boneage.training.reference.run import measured_hands

    folder = Path(args.dataset)
    if not folder.is_dir() or args.cache is None or args.unet is None:
        print(
            f"error: {folder} must be an RSNA-layout folder, with --cache (boneage cache of it) "
            "and --unet (the landmark U-Net's folder)",
            file=sys.stderr,
        )
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    config = RealCurveConfig(
        sizes=args.sizes,
        seeds=args.seeds,
        n_calibration=args.calibration or 600,
        methods=tuple(m.strip() for m in args.methods.split(",") if m.strip()),
    )
    # Measuring every cached film takes minutes; only the multi-step rows read the measurements.
    hands = (
        measured_hands(args.cache, args.unet, args.out / "hands.jsonl")
        if "multistep-fitted" in config.methods
        else []
    )
    table = args.out / "learning_curve.json"
    rows = read_table(table) if table.is_file() else []
    title = f"{folder.name}: val MAE vs age-labelled training hands"
    from boneage.training import real_curve as method

    for row in real_curve(config, args.cache, hands, args.out, done=rows):
        rows.append(row)
        # The table gathers the rows of every run into it, so its settings name them all.
        gathered = replace(
            config,
            sizes=tuple(sorted({r.n_train for r in rows})),
            seeds=tuple(sorted({r.seed for r in rows})),
            methods=tuple(dict.fromkeys(r.method for r in rows)),
        )
        write_table(rows, gathered, args.out, dataset=str(folder.name), method=method.__doc__)
        plot(rows, args.out / "learning_curve.png", title=title, xlabel="age-labelled hands")
        print(
            f"{row.method:18s} n={row.n_train:<5d} seed={row.seed} MAE {row.mae_months:6.2f} mo "
            f"coverage {row.coverage_90:.2f} rejected {row.n_rejected}/{row.n_held_out} "
            f"({row.seconds:.0f} s)",
            flush=True,
        )
    print(f"wrote {table}, learning_curve.csv and .png in {args.out}")
    return 0

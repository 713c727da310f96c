"""``boneage train MODEL ...``: train one of the models on phantoms.

Each model is a nested subcommand (``boneage train segment``; the end-to-end CNN adds its own
beside it through another ``_register_*`` function), so ``boneage train --help`` lists them all.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from boneage.cli import add_compute_options, apply_threads
from boneage.preprocess import INPUT_SIZE


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train a model on phantoms")
    models = parser.add_subparsers(dest="model", required=True, metavar="MODEL")
    _register_segment(models)
    _register_regress(models)


def _register_segment(models: argparse._SubParsersAction) -> None:
    parser = models.add_parser("segment", help="the bone-segmentation U-Net")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--n-train", type=int, required=True, help="training phantoms")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--size", type=int, default=INPUT_SIZE, help="input side in pixels")
    parser.add_argument("--seed", type=int, default=0, help="first training seed")
    parser.add_argument("--n-held-out", type=int, default=24, help="held-out phantoms")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3, help="AdamW learning rate")
    parser.add_argument("--name", default="unet", help="model name on the card")
    add_compute_options(parser)
    parser.add_argument("--resume", action="store_true", help="continue OUT/checkpoint.pt")
    parser.set_defaults(handler=_train_segment)


def _train_segment(args: argparse.Namespace) -> int:
    from boneage.segment import UNetConfig
    from boneage.segment_train import TrainConfig, train_segmentation

    apply_threads(args)
    config = TrainConfig(
        n_train=args.n_train,
        epochs=args.epochs,
        seed=args.seed,
        n_held_out=args.n_held_out,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        name=args.name,
        unet=UNetConfig(size=args.size),
    )
    card = train_segmentation(
        config,
        args.out,
        resume=args.resume,
        device=args.device,
        progress=lambda batches: tqdm(batches, desc="train segment", unit="batch"),
    )
    dice = card.held_out.metrics
    print(
        f"{card.ident}: held-out mean Dice {dice['dice/mean']:.3f} on {card.held_out.size} phantoms"
    )
    print(f"wrote {args.out / card.file} and {args.out / 'card.json'}")
    return 0


def _register_regress(models: argparse._SubParsersAction) -> None:
    parser = models.add_parser("regress", help="the end-to-end age CNN with calibrated intervals")
    parser.add_argument(
        "--data", default="phantom", help="'phantom' or the folder of an RSNA-layout dataset"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--n-train", type=int, required=True, help="training cases")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0, help="first training seed")
    parser.add_argument("--n-calibration", type=int, default=100, help="calibration phantoms")
    parser.add_argument("--n-held-out", type=int, default=100, help="held-out phantoms")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3, help="AdamW peak learning rate")
    parser.add_argument("--name", default="cnn", help="model name on the card")
    add_compute_options(parser)
    parser.add_argument("--resume", action="store_true", help="continue OUT/checkpoint.pt")
    parser.set_defaults(handler=_train_regress)


def _train_regress(args: argparse.Namespace) -> int:
    from boneage.regress_train import RegressTrainConfig, train_regression

    apply_threads(args)
    config = RegressTrainConfig(
        data=args.data,
        n_train=args.n_train,
        epochs=args.epochs,
        seed=args.seed,
        n_calibration=args.n_calibration,
        n_held_out=args.n_held_out,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        name=args.name,
    )
    card = train_regression(
        config,
        args.out,
        resume=args.resume,
        device=args.device,
        progress=lambda batches: tqdm(batches, desc="train regress", unit="batch"),
    )
    held_out = card.held_out
    print(
        f"{card.ident}: held-out MAE {held_out.mae_months:.1f} months, 90 % interval coverage "
        f"{held_out.coverage_90:.0%} on {held_out.size} cases"
    )
    print(f"wrote {args.out / card.file} and {args.out / 'card.json'}")
    return 0

"""``boneage train MODEL ...``: train one of the models, on phantoms or on real films.

Each model is a nested subcommand (``boneage train segment``; the end-to-end CNN adds its own
beside it through another ``_register_*`` function), so ``boneage train --help`` lists them all.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm

from boneage.cli import add_compute_options, apply_threads
from boneage.training.common.config import CNN_TRAINING, LANDMARK_TRAINING, TrainConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train a model on phantoms or real films")
    models = parser.add_subparsers(dest="model", required=True, metavar="MODEL")
    _register_segment(models)
    _register_regress(models)
    _register_regress_real(models)
    _register_gate(models)
    _register_landmarks(models)


Config = TypeVar("Config")


def _output_options(
    parser: argparse.ArgumentParser, *, name: str, version: str | None = None
) -> None:
    """Where a run writes, how its card names the model, on which device, and resuming."""
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--name", default=name, help="model name on the card")
    if version is not None:
        parser.add_argument("--version", default=version, help="model version on the card")
    add_compute_options(parser)
    parser.add_argument("--resume", action="store_true", help="continue OUT/checkpoint.pt")


def _optimiser_options(parser: argparse.ArgumentParser, *, batch_size: int, lr: float) -> None:
    parser.add_argument("--seed", type=int, default=0, help="seed (first training seed)")
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--lr", type=float, default=lr, help="AdamW peak learning rate")


def _budget_options(parser: argparse.ArgumentParser, defaults: TrainConfig) -> None:
    """The options of a time-budgeted run (:class:`TrainConfig`), with its trainer's defaults."""
    parser.add_argument(
        "--budget-minutes", type=float, default=defaults.budget_minutes, help="training wall time"
    )
    parser.add_argument("--max-epochs", type=int, default=defaults.max_epochs)
    _optimiser_options(parser, batch_size=defaults.batch_size, lr=defaults.learning_rate)


def _budget(args: argparse.Namespace, defaults: TrainConfig) -> TrainConfig:
    return replace(
        defaults,
        budget_minutes=args.budget_minutes,
        max_epochs=args.max_epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        seed=args.seed,
    )


def _phantom_config(cls: type[Config], args: argparse.Namespace, **extra: object) -> Config:
    """The config of a phantom-era trainer (epoch-counted, not budgeted) from its options."""
    return cls(
        n_train=args.n_train,
        epochs=args.epochs,
        seed=args.seed,
        n_held_out=args.n_held_out,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        name=args.name,
        **extra,
    )


def _register_segment(models: argparse._SubParsersAction) -> None:
    parser = models.add_parser("segment", help="the phantom era's bone-segmentation U-Net")
    _output_options(parser, name="unet")
    parser.add_argument("--n-train", type=int, required=True, help="training phantoms")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument(
        "--size", type=int, default=None, help="input side in pixels (default: the runtime's)"
    )
    parser.add_argument("--n-held-out", type=int, default=24, help="held-out phantoms")
    _optimiser_options(parser, batch_size=8, lr=3e-3)
    parser.set_defaults(handler=_train_segment)


def _train_segment(args: argparse.Namespace) -> int:
    from boneage.phantom.segment import UNetConfig
    from boneage.phantom.segment_train import SegmentTrainConfig, train_segmentation

    apply_threads(args)
    config = _phantom_config(
        SegmentTrainConfig, args, unet=UNetConfig(size=args.size) if args.size else UNetConfig()
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
    _output_options(parser, name="cnn")
    parser.add_argument("--n-train", type=int, required=True, help="training cases")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--n-calibration", type=int, default=100, help="calibration phantoms")
    parser.add_argument("--n-held-out", type=int, default=100, help="held-out phantoms")
    _optimiser_options(parser, batch_size=16, lr=2e-3)
    parser.set_defaults(handler=_train_regress)


def _train_regress(args: argparse.Namespace) -> int:
    from boneage.phantom.regress_train import RegressTrainConfig, train_regression

    apply_threads(args)
    config = _phantom_config(
        RegressTrainConfig, args, data=args.data, n_calibration=args.n_calibration
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


def _register_regress_real(models: argparse._SubParsersAction) -> None:
    parser = models.add_parser(
        "regress-real",
        help="the end-to-end CNN on a cached real dataset (boneage cache), on a time budget",
    )
    parser.add_argument("--cache", type=Path, required=True, help="the .npz of boneage cache")
    _output_options(parser, name="cnn-rsna", version="1.0.0")
    _budget_options(parser, CNN_TRAINING)
    parser.add_argument("--n-train", type=int, default=None, help="a random subset of train")
    parser.add_argument("--n-calibration", type=int, default=600)
    parser.add_argument(
        "--split-seed",
        type=int,
        default=None,
        help="seed of the calibration slice (default --seed); one ensemble's members share it",
    )
    parser.add_argument("--encoder", default=None, help="timm encoder (default: the shipped)")
    parser.add_argument("--side", type=int, default=None, help="network input side in pixels")
    parser.add_argument(
        "--framing",
        choices=("field", "canonical"),
        default="field",
        help="the whole film, or the canonical hand crop (poses from the shipped landmark U-Net, "
        "or --landmarks)",
    )
    parser.add_argument(
        "--landmarks", type=Path, default=None, help="a landmark model folder for the poses"
    )
    parser.add_argument(
        "--start-from",
        type=Path,
        default=None,
        help="a trained CNN's model folder to continue under a fresh schedule (same split)",
    )
    parser.set_defaults(handler=_train_regress_real)


def _train_regress_real(args: argparse.Namespace) -> int:
    from boneage.training.cnn.run import train_real_regression
    from boneage.training.cnn.train import CANONICAL_NETWORK, CNN_NETWORK

    apply_threads(args)
    base = CANONICAL_NETWORK if args.framing == "canonical" else CNN_NETWORK
    network = replace(
        base, encoder=args.encoder or base.encoder, input_side=args.side or base.input_side
    )
    landmarks = None
    if args.framing == "canonical":
        from boneage.registry import DEFAULT_DIRECTORY, FOLDERS, load_card, load_landmarks

        folder = args.landmarks or DEFAULT_DIRECTORY / FOLDERS["segmentation"]
        card, weights = load_card(folder)
        landmarks = load_landmarks(weights, card)
    card = train_real_regression(
        args.cache,
        args.out,
        _budget(args, CNN_TRAINING),
        network=network,
        n_calibration=args.n_calibration,
        n_train=args.n_train,
        name=args.name,
        version=args.version,
        resume=args.resume,
        device=args.device or "cpu",
        landmarks=landmarks,
        split_seed=args.split_seed,
        start_from=args.start_from,
    )
    held_out = card.held_out
    print(
        f"{card.ident}: {held_out.kind} MAE {held_out.mae_months:.1f} months, 90 % interval "
        f"coverage {held_out.coverage_90:.0%} on {held_out.size} images"
    )
    print(f"wrote {args.out / card.file} and {args.out / 'card.json'}")
    return 0


def _register_gate(models: argparse._SubParsersAction) -> None:
    parser = models.add_parser(
        "gate", help="the quality gate: real hands (boneage cache) against made-up negatives"
    )
    parser.add_argument("--cache", type=Path, required=True, help="the .npz of boneage cache")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--negatives", type=int, default=1500, help="negatives of each kind")
    parser.add_argument("--phantoms", type=int, default=300, help="phantoms among the hands")
    parser.add_argument("--seed", type=int, default=0)
    add_compute_options(parser)
    parser.set_defaults(handler=_train_gate)


def _train_gate(args: argparse.Namespace) -> int:
    from boneage.training.gate.train import train_gate

    apply_threads(args)
    card = train_gate(
        args.cache,
        args.out,
        epochs=args.epochs,
        negatives_per_class=args.negatives,
        phantoms=args.phantoms,
        seed=args.seed,
    )
    metrics = card.held_out.metrics
    print(
        f"{card.ident}: threshold {metrics['threshold']:.3g}; turns away "
        f"{metrics['false_rejection/calibration_hands']:.1%} of {card.held_out.size} calibration "
        f"hands and {metrics['rejected/all_held_out_negatives']:.1%} of held-out negatives"
    )
    print(f"wrote {args.out / card.file} and {args.out / 'card.json'}")
    return 0


def _register_landmarks(models: argparse._SubParsersAction) -> None:
    parser = models.add_parser(
        "landmarks",
        help="the landmark U-Net for real films: joint centres and epiphysis regions, from an "
        "RSNA-layout folder with keypoints.csv and/or roi_masks/",
    )
    parser.add_argument("data", type=Path, help="RSNA-layout folder with split.csv")
    _output_options(parser, name="landmarks-rsna", version="1.0.0")
    _budget_options(parser, LANDMARK_TRAINING)
    parser.set_defaults(handler=_train_landmarks)


def _train_landmarks(args: argparse.Namespace) -> int:
    from boneage.training.landmarks.run import train_landmark_model

    apply_threads(args)
    card = train_landmark_model(
        args.data,
        args.out,
        _budget(args, LANDMARK_TRAINING),
        name=args.name,
        version=args.version,
        resume=args.resume,
    )
    print(f"{card.ident} on {card.held_out.size} annotated val hands:")
    for key, value in sorted(card.held_out.metrics.items()):
        print(f"  {key}: {value:g}")
    print(f"wrote {args.out / card.file} and {args.out / 'card.json'}")
    return 0

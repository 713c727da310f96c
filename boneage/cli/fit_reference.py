"""``boneage fit-reference DATASET --out FILE``: refit the reference table from labelled hands.

DATASET is ``phantom:FIRST:COUNT`` (phantoms of seeds FIRST..FIRST+COUNT-1, measured on their
true masks, or on a U-Net's segmentation with ``--unet``). The table is written as versioned
JSON with its provenance, and a model card (``FILE`` with ``.card.json``) with the multi-step
accuracy measured on held-out phantoms of seeds never used in the fit.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

import boneage
from boneage.cli import apply_threads
from boneage.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fit-reference", help="refit the reference table from data")
    parser.add_argument("dataset", help="phantom:FIRST:COUNT")
    parser.add_argument("--out", type=Path, required=True, help="table JSON file to write")
    parser.add_argument("--unet", type=Path, default=None, help="measure on this U-Net's masks")
    parser.add_argument("--name", default="reference-phantom")
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--n-held-out", type=int, default=40, help="held-out phantoms")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.set_defaults(handler=_fit_reference)


def _phantom_seeds(dataset: str) -> range:
    kind, _, rest = dataset.partition(":")
    first, _, count = rest.partition(":")
    if kind != "phantom" or not first.isdigit() or not count.isdigit():
        raise InputError(f"DATASET must look like phantom:FIRST:COUNT, got {dataset!r}")
    return range(int(first), int(first) + int(count))


def _fit_reference(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from boneage.modelcard import HeldOut, ModelCard, TrainingData
    from boneage.reference import estimate_age
    from boneage.reference_fit import MIN_HANDS, fit_reference, measure_phantom
    from boneage.segment import load_unet
    from boneage.segment_train import HELD_OUT_FIRST_SEED

    apply_threads(args)
    seeds = _phantom_seeds(args.dataset)
    if len(seeds) < MIN_HANDS:
        raise InputError(f"a reference fit needs at least {MIN_HANDS} hands, got {len(seeds)}")
    if seeds.stop > HELD_OUT_FIRST_SEED:
        raise InputError(f"phantom seeds from {HELD_OUT_FIRST_SEED} on are held out")
    model = load_unet(args.unet)[0] if args.unet else None
    masks = f"U-Net {args.unet.name}" if args.unet else "true masks"
    samples = [measure_phantom(s, model=model) for s in tqdm(seeds, desc="measure", unit="hand")]
    table = fit_reference(
        samples, name=args.name, version=args.version, source=f"{args.dataset} ({masks})"
    )
    table.save(args.out)

    held_seeds = range(HELD_OUT_FIRST_SEED, HELD_OUT_FIRST_SEED + args.n_held_out)
    held = [measure_phantom(s, model=model) for s in tqdm(held_seeds, desc="held out")]
    metrics: dict[str, float] = {}
    for mode in table.modes():
        estimates = [estimate_age(table, s.measurements, s.sex, mode) for s in held]
        errors = np.array(
            [e.age_months - s.age_months for e, s in zip(estimates, held, strict=True)]
        )
        inside = [
            lo <= s.age_months <= hi
            for (lo, hi), s in zip((e.interval_months for e in estimates), held, strict=True)
        ]
        metrics |= {
            f"mae_months/{mode}": float(np.abs(errors).mean()),
            f"coverage_90/{mode}": float(np.mean(inside)),
        }
    best = min(table.modes(), key=lambda m: metrics[f"mae_months/{m}"])
    card = ModelCard(
        name=args.name,
        version=args.version,
        kind="reference",
        architecture="Gaussian-likelihood age lookup over a 0-228 month grid (boneage.reference)",
        parameter_count=sum(len(r.continuous) * 2 + len(r.binary) for r in table.sexes.values()),
        training_data=TrainingData(
            "phantom", len(samples), tuple(seeds), f"{args.dataset}, measured on {masks}"
        ),
        held_out=HeldOut(
            "phantom",
            len(held),
            mae_months=metrics[f"mae_months/{best}"],
            coverage_90=metrics[f"coverage_90/{best}"],
            metrics=metrics,
        ),
        file=args.out.name,
        file_sha256=hashlib.sha256(args.out.read_bytes()).hexdigest(),
        code_version=boneage.__version__,
        settings={"provenance": table.provenance, "shared_fraction": table.shared_fraction},
    )
    card_path = args.out.with_suffix(".card.json")
    card.save(card_path)
    for key, value in metrics.items():
        print(f"{key}: {value:.2f}")
    print(f"wrote {args.out} and {card_path}")
    return 0

"""``boneage fit-reference DATASET --out FILE``: refit the reference table from labelled hands.

DATASET is either

- ``phantom:FIRST:COUNT``: phantoms of seeds FIRST..FIRST+COUNT-1, measured on their true masks
  (or on a U-Net's segmentation with ``--unet``), and held-out phantoms of seeds never used in
  the fit; or
- the ``.npz`` of ``boneage cache`` over an RSNA-layout folder with ``split.csv``, with
  ``--unet`` the folder of a landmark U-Net (``boneage train landmarks``): its measurements of
  every cached film are kept (``--hands``), the table is fitted on ``train`` minus the
  calibration slice the end-to-end CNN also sets aside, its interval calibrated on that slice,
  and scored on ``val``; or
- the folder of a labelled dataset in the RSNA layout (see
:mod:`boneage.training.common.datasets`). It has no
  bone masks, so ``--unet`` is required: the table learns that U-Net's measurements and is to be
  read through it. The cases are shuffled by a seed-0 permutation (as ``boneage learning-curve``
  splits a folder); the first ``--n-held-out`` are held out, the rest fitted. A case whose
  segmentation cannot be measured is skipped and counted. PNGs carry no pixel spacing, so the
  table has only the ``"ratios"`` mode.

The table is written as versioned JSON with its provenance, and a model card (``FILE`` with
``.card.json``) with the multi-step accuracy measured on the held-out hands.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from boneage.cli import apply_threads
from boneage.errors import InputError
from boneage.modelcard import HeldOut, ModelCard, TrainingData
from boneage.training.common.cards import describe_file

if TYPE_CHECKING:
    from boneage.multistep.table import ReferenceTable
    from boneage.training.reference.fit import Sample


@dataclass(frozen=True)
class _Measured:
    """The hands to fit and to score, and what the card says of them."""

    train: list[Sample]
    held: list[Sample]
    training_data: TrainingData
    held_out_kind: str
    source: str
    unmeasurable: dict[str, int] = field(default_factory=dict)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fit-reference", help="refit the reference table from data")
    parser.add_argument(
        "dataset",
        help="phantom:FIRST:COUNT, the folder of an RSNA-layout set, or the .npz of boneage "
        "cache (real films with a train/val split, read by a landmark U-Net)",
    )
    parser.add_argument("--out", type=Path, required=True, help="table JSON file to write")
    parser.add_argument(
        "--unet",
        type=Path,
        default=None,
        help="measure on this U-Net's masks; required for a folder, which has no masks: the "
        "table learns this U-Net's measurement bias, so choose the one it will be read with "
        "(e.g. boneage/demo_models/unet-phantom/unet.pt)",
    )
    parser.add_argument(
        "--name", default=None, help="table name (default reference-phantom or reference-FOLDER)"
    )
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--n-held-out", type=int, default=40, help="held-out hands")
    parser.add_argument(
        "--hands",
        type=Path,
        default=None,
        help="with a cache: where the landmark U-Net's measurements are kept and reused "
        "(default: OUT with .hands.jsonl)",
    )
    parser.add_argument(
        "--framing",
        choices=("field", "canonical"),
        default="field",
        help="with a cache: measure each hand on the whole film, or in its canonical crop (the "
        "pose from the same U-Net's palm landmarks; the runtime then measures there too)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.set_defaults(handler=_fit_reference)


def _phantom_seeds(dataset: str) -> range:
    kind, _, rest = dataset.partition(":")
    first, _, count = rest.partition(":")
    if kind != "phantom" or not first.isdigit() or not count.isdigit():
        raise InputError(
            f"DATASET must be phantom:FIRST:COUNT or an RSNA-layout folder, got {dataset!r}"
        )
    return range(int(first), int(first) + int(count))


def _measure_phantoms(args: argparse.Namespace) -> _Measured:
    from tqdm import tqdm

    from boneage.phantom.measure_hands import measure_phantom
    from boneage.phantom.segment import load_unet
    from boneage.training.common.splits import EVALUATION_FIRST_SEED, HELD_OUT_FIRST_SEED
    from boneage.training.reference.fit import MIN_HANDS

    seeds = _phantom_seeds(args.dataset)
    if len(seeds) < MIN_HANDS:
        raise InputError(f"a reference fit needs at least {MIN_HANDS} hands, got {len(seeds)}")
    if seeds.stop > HELD_OUT_FIRST_SEED:
        raise InputError(f"phantom seeds from {HELD_OUT_FIRST_SEED} on are held out")
    model = load_unet(args.unet)[0] if args.unet else None
    masks = f"U-Net {args.unet.name}" if args.unet else "true masks"
    train = [measure_phantom(s, model=model) for s in tqdm(seeds, desc="measure", unit="hand")]
    # Away from the phantoms a U-Net picks its best epoch on (from HELD_OUT_FIRST_SEED).
    held_seeds = range(EVALUATION_FIRST_SEED, EVALUATION_FIRST_SEED + args.n_held_out)
    held = [measure_phantom(s, model=model) for s in tqdm(held_seeds, desc="held out")]
    return _Measured(
        train,
        held,
        TrainingData("phantom", len(train), tuple(seeds), f"{args.dataset}, measured on {masks}"),
        held_out_kind="phantom",
        source=f"{args.dataset} ({masks})",
    )


def _measure_folder(args: argparse.Namespace, folder: Path) -> _Measured:
    import numpy as np
    from tqdm import tqdm

    from boneage.phantom.evaluate import rsna_cases
    from boneage.phantom.measure_hands import measure_cases
    from boneage.phantom.segment import load_unet
    from boneage.training.reference.fit import MIN_HANDS

    if args.unet is None:
        raise InputError(
            f"{folder} has no bone masks: give --unet, the U-Net whose measurements the table "
            "will be read with (e.g. boneage/demo_models/unet-phantom/unet.pt)"
        )
    cases = rsna_cases(folder)
    if len(cases) - args.n_held_out < MIN_HANDS:
        raise InputError(
            f"{folder} has {len(cases)} cases: holding out {args.n_held_out} leaves fewer than "
            f"the {MIN_HANDS} hands a reference fit needs"
        )
    order = np.random.default_rng(0).permutation(len(cases))
    model = load_unet(args.unet)[0]
    train = measure_cases(
        tqdm([cases[i] for i in order[args.n_held_out :]], desc="measure", unit="hand"), model
    )
    n_fit = len(cases) - args.n_held_out
    if len(train.samples) < MIN_HANDS:
        raise InputError(
            f"the U-Net found a measurable hand in only {len(train.samples)} of {n_fit} cases of "
            f"{folder}; a reference fit needs {MIN_HANDS}"
        )
    held = measure_cases(
        tqdm([cases[i] for i in order[: args.n_held_out]], desc="held out", unit="hand"), model
    )
    description = (
        f"{folder.name}: {len(train.samples)} of {n_fit} cases after {args.n_held_out} held out "
        f"(seed-0 permutation of {len(cases)}), measured on U-Net {args.unet.name}, "
        f"{train.n_unmeasurable} unmeasurable skipped; no pixel spacing, ratios only"
    )
    return _Measured(
        train.samples,
        held.samples,
        TrainingData("rsna-folder", len(train.samples), (), description),
        held_out_kind="rsna-folder",
        source=f"{folder.name}, {len(train.samples)} cases (U-Net {args.unet.name})",
        unmeasurable={"training": train.n_unmeasurable, "held_out": held.n_unmeasurable},
    )


def _card(
    args: argparse.Namespace,
    table: ReferenceTable,
    measured: _Measured,
    metrics: dict[str, float],
) -> ModelCard:
    """The card of ``table`` (already written to ``args.out``), scored by its lowest-MAE mode."""
    best = min(table.modes(), key=lambda m: metrics[f"mae_months/{m}"])
    settings = {"provenance": table.provenance, "shared_fraction": table.shared_fraction}
    if measured.unmeasurable:
        settings["unmeasurable"] = measured.unmeasurable
    return describe_file(
        args.out,
        name=table.name,
        version=table.version,
        kind="reference",
        architecture="Gaussian-likelihood age lookup over a 0-228 month grid "
        "(boneage.multistep.table)",
        parameter_count=table.parameter_count,
        training_data=measured.training_data,
        held_out=HeldOut(
            measured.held_out_kind,
            args.n_held_out,
            mae_months=metrics[f"mae_months/{best}"],
            coverage_90=metrics[f"coverage_90/{best}"],
            metrics=metrics,
        ),
        settings=settings,
    )


def _fit_reference(args: argparse.Namespace) -> int:
    from boneage.training.reference.fit import fit_reference, held_out_metrics

    apply_threads(args)
    if args.dataset.endswith(".npz"):
        return _fit_real(args)
    if args.n_held_out < 1:
        raise InputError(f"--n-held-out must be at least 1, got {args.n_held_out}")
    folder = Path(args.dataset)
    if args.dataset.startswith("phantom:") or not folder.is_dir():
        measured, name = _measure_phantoms(args), "reference-phantom"
    else:
        folder = folder.resolve()
        measured, name = _measure_folder(args, folder), f"reference-{folder.name}"
    table = fit_reference(
        measured.train, name=args.name or name, version=args.version, source=measured.source
    )
    table.save(args.out)
    metrics = held_out_metrics(table, measured.held)
    card_path = args.out.with_suffix(".card.json")
    _card(args, table, measured, metrics).save(card_path)
    for key, value in metrics.items():
        print(f"{key}: {value:.2f}")
    for part, count in measured.unmeasurable.items():
        print(f"{part}: {count} case(s) skipped, no measurable hand in the segmentation")
    print(f"wrote {args.out} and {card_path}")
    return 0


def _fit_real(args: argparse.Namespace) -> int:
    """Fit on the cache's ``train`` films as the landmark U-Net ``--unet`` measures them; score
    on ``val``."""
    from boneage.training.reference.run import (
        describe_real_reference,
        fit_real_reference,
        measured_hands,
    )

    if args.unet is None:
        raise InputError("give --unet, the folder of the landmark U-Net that measures the hands")
    folder = args.unet if args.unet.is_dir() else args.unet.parent
    hands_path = args.hands or args.out.with_suffix(".hands.jsonl")
    hands = measured_hands(Path(args.dataset), folder, hands_path, args.framing)
    fit = fit_real_reference(
        hands,
        name=args.name or "reference-rsna",
        version=args.version,
        source=f"RSNA 2017 train split, measured by {folder.name}",
    )
    fit.table.save(args.out)
    card_path = args.out.with_suffix(".card.json")
    card = describe_real_reference(fit, args.out, segmentation=folder.name, framing=args.framing)
    card.save(card_path)
    for key, value in fit.metrics.items():
        print(f"val {key}: {value:.3f}")
    for reason, count in fit.rejections.items():
        print(f"val rejected: {count} × {reason}")
    print(f"fitted on {fit.n_fitted} train hands ({fit.n_unreadable_train} unreadable)")
    print(f"wrote {args.out}, {card_path} and {hands_path}")
    return 0

"""``boneage fit-combined DATASET --models DIR``: fit the rule that pools the two estimates.

DATASET is an RSNA-layout folder with ``split.csv``; the rule is fitted on the calibration slice
of its ``train`` split (:mod:`boneage.training.combined.fit`) with the models of DIR (without
any rule they already hold), and written with its card into ``DIR/combined``. Its ``val``
figures come from ``boneage evaluate DATASET --split val --models DIR --attach``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit-combined", help="fit the combined estimate's rule on the calibration slice"
    )
    parser.add_argument("dataset", type=Path, help="RSNA-layout folder with split.csv")
    parser.add_argument("--models", type=Path, required=True, help="the model folder")
    parser.add_argument("--n-calibration", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0, help="the trainers' split seed")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--name", default="combined-rsna")
    parser.add_argument("--version", default="1.0.0")
    parser.set_defaults(handler=_fit)


def _fit(args: argparse.Namespace) -> int:
    from boneage.cli import apply_threads
    from boneage.modelcard import HeldOut, TrainingData
    from boneage.registry import COMBINATION_FOLDER, load_models
    from boneage.training.combined.fit import assess_pairs, calibration_indices, fit_combination
    from boneage.training.common.cards import describe_file
    from boneage.training.common.datasets.rsna import RSNA_TERMS

    apply_threads(args)
    models = replace(load_models(args.models), combination=None)
    indices = calibration_indices(args.dataset, n_calibration=args.n_calibration, seed=args.seed)
    pairs = assess_pairs(args.dataset, models, indices)
    rule, figures = fit_combination(pairs, seed=args.seed)
    out = args.models / COMBINATION_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    rule.save(out / "combined.json")
    card = describe_file(
        out / "combined.json",
        name=args.name,
        version=args.version,
        kind="combination",
        architecture=rule.rule(),
        parameter_count=2,
        training_data=TrainingData(
            kind="rsna-2017-train-calibration",
            size=len(pairs.truth),
            description=f"{RSNA_TERMS}. The {len(indices)} films of the calibration slice of "
            f"train (neither path trained on them); {len(pairs.truth)} both paths answered and "
            "agreed on: the weight chosen on one half, the interval set on the other.",
        ),
        held_out=HeldOut(
            kind="rsna-2017-train-calibration-half",
            size=int(figures["calibrated_on"]),
            metrics=figures,
        ),
        settings={**asdict(rule), "n_calibration": args.n_calibration, "seed": args.seed},
    )
    card.save(out / "card.json")
    print(json.dumps({"rule": asdict(rule), **figures}, indent=2))
    print(f"wrote {out}; measure it on val with boneage evaluate --attach")
    return 0

"""The phantom-trained models, reproducible by one call (``boneage train-demo``).

Three folders beside the shipped models: ``unet-phantom/`` (the bone-segmentation U-Net),
``reference-phantom/`` (a table fitted to that U-Net's measurements of its training phantoms,
see :func:`fitted_reference`, with the multi-step accuracy measured through it) and
``cnn-phantom/`` (the end-to-end regressor trained on phantoms). All are trained on phantoms
only, on this CPU; the settings below are the ones the committed files were made with, and every
card records them. They are kept for the phantom tests and for comparison: the models the app
loads (``unet/``, ``reference/``, ``cnn/``, ``gate/``) are trained on real radiographs
(``docs/real-data.md``), which ``train-demo`` leaves alone.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from boneage.modelcard import HeldOut, ModelCard, TrainingData
from boneage.multistep.table import ReferenceTable
from boneage.phantom.evaluate import evaluate_multistep, phantom_case
from boneage.phantom.measure_hands import measure_case
from boneage.phantom.regress_train import RegressTrainConfig, train_regression
from boneage.phantom.segment import load_unet
from boneage.phantom.segment_train import SegmentTrainConfig, train_segmentation
from boneage.training.common.cards import describe_file
from boneage.training.common.splits import EVALUATION_FIRST_SEED, MULTISTEP_CALIBRATION_FIRST_SEED
from boneage.training.reference.fit import calibrate_interval_scales, fit_reference

UNET = SegmentTrainConfig(n_train=240, epochs=20, seed=0, n_held_out=24, name="unet-demo")
CNN = RegressTrainConfig(n_train=300, epochs=20, seed=0, name="cnn")
N_HELD_OUT_MULTISTEP = 60
N_CALIBRATION_MULTISTEP = 120
REFERENCE_NAME = "reference-unet-demo"
REFERENCE_FILE = "reference.json"
PHANTOM_CNN_FOLDER = "cnn-phantom"
PHANTOM_UNET_FOLDER = "unet-phantom"
PHANTOM_REFERENCE_FOLDER = "reference-phantom"
"""Where the phantom-trained models are kept beside the shipped ones (the registry loads
``cnn/``, ``unet/`` and ``reference/``)."""


def train_demo_models(
    out_dir: Path,
    *,
    work_dir: Path,
    device: str | None = None,
    progress: Callable[[Iterable], Iterable] = lambda batches: batches,
) -> dict[str, ModelCard]:
    """Train the U-Net and the CNN, fit the reference table to the U-Net, and measure the
    multi-step path on held-out phantoms; only the shipped files land in ``out_dir``, the
    resumable checkpoints stay in ``work_dir``."""
    cards = {
        "segmentation": train_segmentation(
            UNET, work_dir / "unet", device=device, progress=progress
        )
    }
    _install(work_dir / "unet", out_dir / PHANTOM_UNET_FOLDER, cards["segmentation"])
    cards["regression"] = train_regression(CNN, work_dir / "cnn", device=device, progress=progress)
    _install(work_dir / "cnn", out_dir / PHANTOM_CNN_FOLDER, cards["regression"])
    unet, _ = load_unet(out_dir / PHANTOM_UNET_FOLDER / cards["segmentation"].file)
    cards["reference"] = write_reference(
        out_dir / PHANTOM_REFERENCE_FOLDER, unet, cards["segmentation"]
    )
    return cards


def write_reference(folder: Path, unet, segmentation: ModelCard) -> ModelCard:
    """The demo table (:func:`fitted_reference`) with a card whose held-out accuracy is that of
    the whole multi-step path (this U-Net, then this table), in the no-spacing mode PNG datasets
    force, with the mm mode alongside."""
    folder.mkdir(parents=True, exist_ok=True)
    table = fitted_reference(unet, segmentation)
    path = folder / REFERENCE_FILE
    table.save(path)
    cases = [
        phantom_case(seed)
        for seed in range(EVALUATION_FIRST_SEED, EVALUATION_FIRST_SEED + N_HELD_OUT_MULTISTEP)
    ]
    ratios = evaluate_multistep(cases, model=unet, reference=table, spacing_mode="ratios")
    absolute = evaluate_multistep(cases, model=unet, reference=table, spacing_mode="absolute_mm")
    seeds = tuple(UNET.training_seeds())
    card = describe_file(
        path,
        name=table.name,
        version=table.version,
        kind="reference",
        architecture="sex-specific reference of bone lengths, ratios and ossification stages by "
        "age (boneage.multistep.table), fitted to U-Net measurements and looked up after them",
        parameter_count=table.parameter_count,
        training_data=TrainingData(
            kind="phantom",
            size=len(seeds),
            seeds=seeds,
            description=f"{segmentation.ident} measurements of its own {len(seeds)} training "
            f"phantoms (seeds {seeds[0]}-{seeds[-1]}); {table.provenance['interval_calibration']}",
        ),
        held_out=HeldOut(
            kind="phantom",
            size=ratios.n_cases,
            mae_months=_finite(ratios.mae_months),
            coverage_90=_finite(ratios.coverage_90),
            metrics={
                key: value
                for key, value in {
                    "rejected": float(ratios.n_rejected),
                    "mae_months/absolute_mm": _finite(absolute.mae_months),
                    "coverage_90/absolute_mm": _finite(absolute.coverage_90),
                    "rejected/absolute_mm": float(absolute.n_rejected),
                }.items()
                if value is not None
            },
        ),
        settings={
            "segmentation": segmentation.ident,
            "spacing_mode": "ratios",
            "temperature": table.temperature,
            "interval_scales": table.interval_scales,
            "held_out_seeds": f"{EVALUATION_FIRST_SEED}-"
            f"{EVALUATION_FIRST_SEED + N_HELD_OUT_MULTISTEP - 1}",
        },
    )
    card.save(folder / "card.json")
    return card


def fitted_reference(unet, segmentation: ModelCard) -> ReferenceTable:
    """The reference table fitted (:func:`boneage.training.reference.fit.fit_reference`) to
    ``unet``'s
    measurements of the phantoms it was trained on, its intervals then widened split-conformally
    (:func:`boneage.training.reference.fit.calibrate_interval_scales`) on its measurements of
    :data:`N_CALIBRATION_MULTISTEP` phantoms it never saw.

    Why fitted rather than the table derived from the published anatomy
    (:func:`boneage.phantom.reference_default.default_reference`): the U-Net draws bones
    systematically shorter or longer and sees ossification centres that are not there, so a table
    of true anatomy reads its measurements as the wrong age. Measured on the 60 held-out phantoms
    of the card behind ``unet-demo@1.0.0``: the anatomy table gave MAE 30.5 months (ratios) and
    22.9 (mm), the fitted table 15.5 and 13.2. The same U-Net training phantoms serve both, so the
    multi-step path's data size stays that of its U-Net, as in
    :mod:`boneage.phantom.learning_curve`."""
    seeds = UNET.training_seeds()
    samples = [measure_case(phantom_case(seed), unet) for seed in seeds]
    table = fit_reference(
        samples,
        name=REFERENCE_NAME,
        version="1.0.0",
        source=f"{segmentation.ident} measurements of phantom seeds {seeds[0]}-{seeds[-1]}",
    )
    calibration = range(
        MULTISTEP_CALIBRATION_FIRST_SEED, MULTISTEP_CALIBRATION_FIRST_SEED + N_CALIBRATION_MULTISTEP
    )
    scales = calibrate_interval_scales(
        table, [measure_case(phantom_case(seed), unet) for seed in calibration]
    )
    words = (
        "interval half-widths scaled by "
        + ", ".join(f"{scale:.2f} ({mode})" for mode, scale in scales.items())
        + f", split-conformal on {segmentation.ident} measurements of phantom seeds "
        f"{calibration.start}-{calibration.stop - 1} for 90 % coverage"
    )
    return replace(
        table,
        interval_scales=scales,
        provenance=table.provenance | {"interval_calibration": words},
    )


def _install(run_dir: Path, folder: Path, card: ModelCard) -> None:
    """Copy a trained model's file and card (not its resumable checkpoint) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(run_dir / card.file, folder / card.file)
    shutil.copy2(run_dir / "card.json", folder / "card.json")


def _finite(value: float) -> float | None:
    return None if value != value else round(value, 2)

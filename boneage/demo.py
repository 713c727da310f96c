"""The shipped demo models, reproducible by one call (``boneage train-demo``).

Three folders, as :func:`boneage.registry.load_models` expects: ``unet/`` (segmentation),
``reference/`` (the default table derived from the published anatomy in :mod:`boneage.anatomy`,
with the multi-step accuracy measured through the demo U-Net) and ``cnn/`` (the end-to-end
regressor). All are trained on phantoms only, on this CPU; the settings below are the ones the
committed files were made with, and every card records them.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import boneage
from boneage.evaluate import evaluate_multistep, phantom_case
from boneage.modelcard import HeldOut, ModelCard, TrainingData
from boneage.reference import default_reference
from boneage.registry import FOLDERS
from boneage.regress_train import RegressTrainConfig, train_regression
from boneage.segment import load_unet
from boneage.segment_train import HELD_OUT_FIRST_SEED, TrainConfig, train_segmentation

UNET = TrainConfig(n_train=240, epochs=20, seed=0, n_held_out=24, name="unet-demo")
CNN = RegressTrainConfig(n_train=300, epochs=20, seed=0, name="cnn")
N_HELD_OUT_MULTISTEP = 60
REFERENCE_FILE = "reference.json"


def train_demo_models(
    out_dir: Path,
    *,
    work_dir: Path,
    device: str | None = None,
    progress: Callable[[Iterable], Iterable] = lambda batches: batches,
) -> dict[str, ModelCard]:
    """Train the U-Net and the CNN, write the default reference table, and measure the
    multi-step path on held-out phantoms; only the shipped files land in ``out_dir``, the
    resumable checkpoints stay in ``work_dir``."""
    cards = {
        "segmentation": train_segmentation(
            UNET, work_dir / "unet", device=device, progress=progress
        )
    }
    _install(work_dir / "unet", out_dir / FOLDERS["segmentation"], cards["segmentation"])
    cards["regression"] = train_regression(CNN, work_dir / "cnn", device=device, progress=progress)
    _install(work_dir / "cnn", out_dir / FOLDERS["regression"], cards["regression"])
    unet, _ = load_unet(out_dir / FOLDERS["segmentation"] / cards["segmentation"].file)
    cards["reference"] = write_reference(
        out_dir / FOLDERS["reference"], unet, cards["segmentation"]
    )
    return cards


def write_reference(folder: Path, unet, segmentation: ModelCard) -> ModelCard:
    """The default table with a card whose held-out accuracy is that of the whole multi-step
    path (the given U-Net, then this table), in the no-spacing mode PNG datasets force, with
    the mm mode alongside."""
    folder.mkdir(parents=True, exist_ok=True)
    table = default_reference()
    path = folder / REFERENCE_FILE
    table.save(path)
    cases = [
        phantom_case(seed)
        for seed in range(HELD_OUT_FIRST_SEED, HELD_OUT_FIRST_SEED + N_HELD_OUT_MULTISTEP)
    ]
    ratios = evaluate_multistep(cases, model=unet, reference=table, spacing_mode="ratios")
    absolute = evaluate_multistep(cases, model=unet, reference=table, spacing_mode="absolute_mm")
    card = ModelCard(
        name=table.name,
        version=table.version,
        kind="reference",
        architecture="sex-specific reference of bone lengths, ratios and ossification stages by "
        "age (boneage.reference), looked up after U-Net segmentation and measurement",
        parameter_count=0,
        training_data=TrainingData(
            kind="published anatomy",
            size=0,
            description="derived from boneage.anatomy (Greulich & Pyle, Gilsanz & Ratib, Garn; "
            "see that module); no training images. The U-Net it reads from was trained on "
            f"{segmentation.training_data.size} phantoms ({segmentation.ident}).",
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
        file=REFERENCE_FILE,
        file_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        code_version=boneage.__version__,
        settings={"segmentation": segmentation.ident, "spacing_mode": "ratios"},
    )
    card.save(folder / "card.json")
    return card


def _install(run_dir: Path, folder: Path, card: ModelCard) -> None:
    """Copy a trained model's file and card (not its resumable checkpoint) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(run_dir / card.file, folder / card.file)
    shutil.copy2(run_dir / "card.json", folder / "card.json")


def _finite(value: float) -> float | None:
    return None if value != value else round(value, 2)

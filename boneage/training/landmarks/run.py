"""Train the landmark U-Net on an annotated RSNA-layout folder, measure it on the annotated
``val`` hands it never saw, and write its weights and card.

The card's figures (``held_out.metrics``), all on ``val`` hands:

- ``found/<bone>``: share of hands with keypoints where both ends of the bone were located
  (:data:`boneage.hand_measure.MIN_CONFIDENCE`);
- ``length_error_pct/<bone>``: median absolute error of the joint-to-joint length, in % of the
  annotated length, over the hands where the bone was found; ``length_error_pct/median`` over
  all bones and hands;
- ``landmark_error_pct_scale/median``: median distance of a located landmark from its
  annotation, in % of the hand scale (distal radius to third MCP joint);
- ``dice/joint`` and ``dice/epiphysis``: mean Dice of the two region maps over the hands with
  region masks.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
from torch import nn

from boneage.modelcard import HeldOut, ModelCard, TrainingData
from boneage.multistep.landmarks import (
    LANDMARKS,
    REGIONS,
    LandmarkConfig,
    locate_batch,
    save_landmark_net,
)
from boneage.multistep.measure import BONES, MIN_CONFIDENCE, SCALE_FROM, SCALE_TO
from boneage.registry import LANDMARK_NETWORK
from boneage.training.common.budget import TrainingRecord
from boneage.training.common.cards import describe_file
from boneage.training.common.config import LANDMARK_TRAINING, TrainConfig
from boneage.training.common.datasets.rsna import RSNA_TERMS
from boneage.training.landmarks.data import AnnotatedHands, load_annotated
from boneage.training.landmarks.train import fit_landmarks

log = logging.getLogger(__name__)

WEIGHTS_FILE = "landmarks.pt"
ANNOTATION_TERMS = (
    "keypoints: Msameim181/Pediatric-Hand-Bone-Analysis-Lab (GPL-2.0); joint and epiphysis "
    "region masks: ismail-kucukbayrak/Bone_Age_Assessment (no licence stated)"
)


def annotated(data_dir: Path, out_dir: Path, split: str) -> AnnotatedHands:
    """The annotated hands of ``split``, read once and kept in ``out_dir``."""
    path = out_dir / f"annotated-{split}.npz"
    if path.is_file():
        return AnnotatedHands.load(path)
    hands = load_annotated(data_dir, split)
    hands.save(path)
    return hands


def _dice(predicted: np.ndarray, truth: np.ndarray) -> float:
    total = predicted.sum() + truth.sum()
    return 1.0 if total == 0 else float(2 * (predicted & truth).sum() / total)


def segmentation_figures(network: nn.Module, hands: AnnotatedHands) -> dict[str, float]:
    """The card's figures (see the module docstring) on annotated hands."""
    maps = []
    for start in range(0, len(hands.ids), 16):
        maps += locate_batch(network, hands.images[start : start + 16].astype(np.float32) / 255)
    index = {name: i for i, name in enumerate(LANDMARKS)}
    found: dict[str, list[bool]] = {bone: [] for bone in BONES}
    errors: dict[str, list[float]] = {bone: [] for bone in BONES}
    landmark_errors: list[float] = []
    dice: dict[str, list[float]] = {region: [] for region in REGIONS}
    for hand, truth, has_points, regions, has_regions in zip(
        maps,
        hands.landmarks,
        hands.has_landmarks,
        hands.regions,
        hands.has_regions,
        strict=True,
    ):
        if has_regions:
            dice["joint"].append(_dice(hand.joint, (regions & 1) > 0))
            dice["epiphysis"].append(_dice(hand.epiphysis, (regions & 2) > 0))
        if not has_points:
            continue
        scale = float(np.linalg.norm(truth[index[SCALE_TO]] - truth[index[SCALE_FROM]]))
        predicted = {n: np.array([lm.row, lm.col]) for n, lm in hand.landmarks.items()}
        for name, lm in hand.landmarks.items():
            if lm.confidence >= MIN_CONFIDENCE:
                distance = np.linalg.norm(predicted[name] - truth[index[name]])
                landmark_errors.append(100 * float(distance) / scale)
        for bone, (start, end) in BONES.items():
            ok = min(hand.landmarks[start].confidence, hand.landmarks[end].confidence)
            found[bone].append(ok >= MIN_CONFIDENCE)
            if ok >= MIN_CONFIDENCE:
                true_length = np.linalg.norm(truth[index[end]] - truth[index[start]])
                length = np.linalg.norm(predicted[end] - predicted[start])
                errors[bone].append(100 * abs(length - true_length) / true_length)
    metrics: dict[str, float] = {}
    if hands.has_landmarks.any():
        for bone in BONES:
            metrics[f"found/{bone}"] = round(float(np.mean(found[bone])), 3)
            if errors[bone]:
                metrics[f"length_error_pct/{bone}"] = round(float(np.median(errors[bone])), 1)
        every = [e for bone_errors in errors.values() for e in bone_errors]
        found_all = [f for bone_found in found.values() for f in bone_found]
        metrics["found/all_bones"] = round(float(np.mean(found_all)), 3)
        if every:
            metrics["length_error_pct/median"] = round(float(np.median(every)), 1)
            metrics["landmark_error_pct_scale/median"] = round(float(np.median(landmark_errors)), 2)
    for region, values in dice.items():
        if values:
            metrics[f"dice/{region}"] = round(float(np.mean(values)), 3)
    metrics["hands_with_keypoints"] = float(hands.has_landmarks.sum())
    metrics["hands_with_regions"] = float(hands.has_regions.sum())
    return metrics


def train_landmark_model(
    data_dir: Path,
    out_dir: Path,
    config: TrainConfig = LANDMARK_TRAINING,
    *,
    name: str = "landmarks-rsna",
    version: str = "1.0.0",
    resume: bool = False,
) -> ModelCard:
    """Train on the annotated ``train`` hands of ``data_dir``, measure on its annotated ``val``
    hands, write ``landmarks.pt`` and ``card.json`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    train = annotated(data_dir, out_dir, "train")
    val = annotated(data_dir, out_dir, "val")
    network, record = fit_landmarks(
        config, train, checkpoint=out_dir / "checkpoint.pt", resume=resume
    )
    return write_card(network, record_settings(config, record), train, val, out_dir, name, version)


def record_settings(config: TrainConfig, record: TrainingRecord) -> dict:
    """The run's settings and what it did, for the card."""
    return {
        **asdict(config),
        "steps": record.steps,
        "epochs": round(record.epochs, 2),
        "wall_seconds": round(record.seconds),
    }


def write_card(
    network: nn.Module,
    settings: dict,
    train: AnnotatedHands,
    val: AnnotatedHands,
    out_dir: Path,
    name: str,
    version: str,
) -> ModelCard:
    """Save the weights and the card with the ``val`` figures."""
    weights = out_dir / WEIGHTS_FILE
    config = LandmarkConfig()
    save_landmark_net(network, config, weights)
    metrics = segmentation_figures(network, val)
    card = describe_file(
        weights,
        name=name,
        version=version,
        kind="segmentation",
        architecture=f"smp.Unet({config.encoder}, decoder "
        f"{'-'.join(map(str, config.decoder_channels))}, {config.input_side} px whole film): "
        f"{len(REGIONS)} region maps (joint, epiphysis) + {len(LANDMARKS)} landmark heatmaps",
        parameter_count=sum(p.numel() for p in network.parameters()),
        training_data=TrainingData(
            kind="rsna-2017-train-annotated",
            size=len(train.ids),
            description=f"{RSNA_TERMS}. {len(train.ids)} annotated hands of the fixed train "
            f"split: {int(train.has_landmarks.sum())} with 21 keypoints, "
            f"{int(train.has_regions.sum())} with joint and epiphysis region masks "
            f"({ANNOTATION_TERMS}); trained {settings['epochs']} epochs in "
            f"{settings['wall_seconds'] / 60:.0f} min on 2 CPU threads.",
        ),
        held_out=HeldOut(kind="rsna-2017-val-annotated", size=len(val.ids), metrics=metrics),
        settings={"network": LANDMARK_NETWORK, **settings},
    )
    card.save(out_dir / "card.json")
    log.info("landmark U-Net %s: %s", card.ident, metrics)
    return card

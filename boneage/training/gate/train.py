"""Train the quality gate (:mod:`boneage.quality.gate`): real hands against made-up negatives.

Positives are the real films of the cache's ``train`` split (less the calibration slice) and
phantoms, so the shipped phantom demo still passes. Negatives are made here, one generator per
kind of image the gate must turn away, each in words on the report:

* ``noise``: uniform, Gaussian and salt-and-pepper noise, faint gradients under noise;
* ``other``: gradients, a trunk with lungs and spine, photograph-like textures (1/f noise,
  smoothed noise at many scales), compact or scattered shapes, and real films cut into tiles
  and shuffled (radiograph texture without a hand's shape: without them smoothed noise passed);
* ``blurred``: real hands under a Gaussian blur of 2-5 % of the film;
* ``cut_off``: the top 30-50 % of a real film (fingers, no wrist or carpus).

Each negative goes through the runtime's :func:`boneage.quality.orientation.orient` and
:func:`boneage.framing.field.field_square`, as an upload would. The threshold on the hand
probability is set on the calibration slice of real hands, so that at most
:data:`TARGET_FALSE_REJECTION` of them would be turned away.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from skimage import draw
from torch.nn import functional as F
from tqdm import tqdm

from boneage.framing.field import field_square
from boneage.modelcard import HeldOut, ModelCard, TrainingData
from boneage.phantom import generate_phantom
from boneage.quality.gate import CLASSES, GATE_SIDE, Gate, GateConfig, GateNetwork
from boneage.quality.orientation import orient
from boneage.training.common.augment import augment_batch
from boneage.training.common.cards import describe_file
from boneage.training.common.image_cache import ImageCache, at_side
from boneage.training.common.splits import real_splits

log = logging.getLogger(__name__)

TARGET_FALSE_REJECTION = 0.005
"""Share of the calibration hands the threshold may turn away (the goal on ``val`` is 1 %)."""

SIDE = 256
"""Side at which negatives are drawn before the runtime preprocessing."""


def _noise(rng: np.random.Generator) -> np.ndarray:
    kind = rng.integers(4)
    if kind == 0:
        return rng.random((SIDE, SIDE))
    if kind == 1:
        return rng.normal(rng.uniform(0.2, 0.8), rng.uniform(0.02, 0.3), (SIDE, SIDE))
    if kind == 2:
        image = np.full((SIDE, SIDE), rng.uniform(0.2, 0.8))
        salt = rng.random((SIDE, SIDE))
        image[salt < 0.05] = 0.0
        image[salt > 0.95] = 1.0
        return image
    rows = np.linspace(0, rng.uniform(0.0, 0.1), SIDE)[:, None]
    return rng.uniform(0.2, 0.6) + rows + rng.normal(0, rng.uniform(0.015, 0.05), (SIDE, SIDE))


def _pink(rng: np.random.Generator) -> np.ndarray:
    spectrum = rng.normal(size=(SIDE, SIDE)) + 1j * rng.normal(size=(SIDE, SIDE))
    frequency = np.hypot(*np.meshgrid(np.fft.fftfreq(SIDE), np.fft.fftfreq(SIDE)))
    field = np.real(np.fft.ifft2(spectrum / np.maximum(frequency, 1.0 / SIDE) ** 1.5))
    return (field - field.min()) / (np.ptp(field) + 1e-9)


def _trunk(rng: np.random.Generator) -> np.ndarray:
    rows, cols = np.mgrid[0:SIDE, 0:SIDE]
    half = rng.uniform(0.35, 0.5) * SIDE
    image = np.where(np.abs(cols - SIDE / 2) < half, rng.uniform(0.5, 0.7), 0.05)
    for sign in (-1, 1):
        lung = ((rows - SIDE * 0.45) / (SIDE * 0.3)) ** 2 + (
            (cols - SIDE / 2 - sign * SIDE * 0.22) / (SIDE * 0.14)
        ) ** 2 < 1
        image[lung] = rng.uniform(0.15, 0.3)
    image[np.abs(cols - SIDE / 2) < SIDE * 0.04] += 0.2
    return ndimage.gaussian_filter(image, 2) + rng.normal(0, 0.01, image.shape)


def _shapes(rng: np.random.Generator) -> np.ndarray:
    image = np.full((SIDE, SIDE), rng.uniform(0.0, 0.3))
    for _ in range(rng.integers(1, 14)):
        centre = tuple(rng.integers(20, SIDE - 20, 2))
        radii = rng.uniform(8, SIDE * 0.35, 2)
        rr, cc = draw.ellipse(*centre, *radii, shape=image.shape, rotation=rng.uniform(0, np.pi))
        image[rr, cc] = rng.uniform(0.4, 1.0)
    return image + rng.normal(0, 0.01, image.shape)


def _smooth_noise(rng: np.random.Generator) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.random((SIDE, SIDE)), rng.uniform(1.5, 12))
    return (field - field.min()) / (np.ptp(field) + 1e-9)


def _shuffled(hand: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A real film cut into tiles and shuffled: radiograph texture without a hand's shape."""
    tiles = int(rng.integers(3, 9))
    side = hand.shape[0] // tiles
    blocks = [
        hand[r * side : (r + 1) * side, c * side : (c + 1) * side]
        for r in range(tiles)
        for c in range(tiles)
    ]
    order = rng.permutation(len(blocks))
    rows = [np.concatenate([blocks[i] for i in order[r::tiles]], 1) for r in range(tiles)]
    return np.concatenate(rows, 0)


def _other(rng: np.random.Generator, hand: np.ndarray) -> np.ndarray:
    kind = rng.integers(7)
    if kind == 5:
        return _smooth_noise(rng)
    if kind == 6:
        return _shuffled(hand, rng)
    if kind == 0:
        angle = rng.uniform(0, 2 * np.pi)
        rows, cols = np.mgrid[0:SIDE, 0:SIDE] / SIDE
        return np.cos(angle) * rows + np.sin(angle) * cols + rng.normal(0, 0.01, (SIDE, SIDE))
    if kind == 1:
        rows, cols = np.mgrid[0:SIDE, 0:SIDE] / SIDE
        centre = rng.uniform(0.2, 0.8, 2)
        return -np.hypot(rows - centre[0], cols - centre[1]) + rng.normal(0, 0.01, (SIDE, SIDE))
    if kind == 2:
        return _trunk(rng)
    if kind == 3:
        return _pink(rng)
    return _shapes(rng)


def _blurred(hand: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma = rng.uniform(0.02, 0.05) * hand.shape[0]
    return ndimage.gaussian_filter(hand, sigma) + rng.normal(0, 0.005, hand.shape)


def _cut_off(hand: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rows = round(rng.uniform(0.3, 0.5) * hand.shape[0])
    return hand[:rows]


def _runtime_square(pixels: np.ndarray) -> np.ndarray:
    """What the gate sees of ``pixels`` at inference."""
    bright = orient(np.clip(pixels, 0, 1).astype(np.float32)).as_acquired
    return field_square(bright, size=GATE_SIDE).image


def make_negatives(
    hands: np.ndarray, count_per_class: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count_per_class`` gate inputs of every rejected class, with their class indices.

    ``hands`` are real films (uint8 squares) that the blurred and cut-off negatives are made
    from."""
    rng = np.random.default_rng(seed)
    makers: dict[str, Callable[[], np.ndarray]] = {
        "noise": lambda: _noise(rng),
        "other": lambda: _other(rng, hands[rng.integers(len(hands))] / 255.0),
        "blurred": lambda: _blurred(hands[rng.integers(len(hands))] / 255.0, rng),
        "cut_off": lambda: _cut_off(hands[rng.integers(len(hands))] / 255.0, rng),
    }
    images, labels = [], []
    for name, make in makers.items():
        for _ in tqdm(range(count_per_class), desc=f"negatives: {name}", unit="image"):
            images.append(_runtime_square(make()))
            labels.append(CLASSES.index(name))
    return np.stack(images).astype(np.float32), np.array(labels)


def phantom_squares(count: int, first_seed: int) -> np.ndarray:
    """Gate inputs of ``count`` phantoms (the shipped demo's synthetic films must pass)."""
    return np.stack(
        [
            _runtime_square(generate_phantom(seed, size=384).image)
            for seed in range(first_seed, first_seed + count)
        ]
    ).astype(np.float32)


def train_gate(
    cache_path: Path,
    out_dir: Path,
    *,
    epochs: int = 6,
    negatives_per_class: int = 1500,
    phantoms: int = 300,
    seed: int = 0,
    n_calibration: int = 600,
) -> ModelCard:
    """Train the gate, set its threshold on real calibration hands, write weights and card."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = ImageCache.load(cache_path)
    splits = real_splits(cache.split, n_calibration=n_calibration, seed=seed)
    real = at_side(cache.images[splits.train], GATE_SIDE)[:, 0].numpy()
    negatives, negative_labels = make_negatives(
        cache.images[splits.train], negatives_per_class, seed
    )
    held_negatives, held_labels = make_negatives(
        cache.images[splits.calibration], negatives_per_class // 10, seed + 1
    )
    images = np.concatenate([real, phantom_squares(phantoms, 0), negatives])
    labels = np.concatenate([np.zeros(len(real) + phantoms, int), negative_labels])
    network = _fit(images, labels, epochs=epochs, seed=seed)
    gate = Gate(network)

    calibration = at_side(cache.images[splits.calibration], GATE_SIDE)[:, 0].numpy()
    hand_probability = gate.probabilities(calibration)[:, 0]
    threshold = float(min(0.5, np.quantile(hand_probability, TARGET_FALSE_REJECTION)))
    network.config = GateConfig(widths=network.config.widths, threshold=threshold)
    negative_probability = gate.probabilities(held_negatives)
    caught = negative_probability[:, 0] < threshold
    named = caught & (negative_probability[:, 1:].argmax(1) + 1 == held_labels)
    held_phantoms = gate.probabilities(phantom_squares(60, 50_000_000))[:, 0]
    weights = out_dir / "gate.pt"
    gate.save(weights)
    per_class = {
        f"rejected/{name}": round(float(caught[held_labels == index].mean()), 4)
        for index, name in enumerate(CLASSES)
        if index > 0
    }
    card = describe_file(
        weights,
        name="gate-rsna",
        version="1.0.0",
        kind="gate",
        architecture=f"8-layer CNN {network.config.widths} on the whole film at {GATE_SIDE} px "
        f"→ {', '.join(CLASSES)}; reject when P(hand) < {threshold:.3g}",
        parameter_count=sum(p.numel() for p in network.parameters()),
        training_data=TrainingData(
            kind="rsna-2017-train",
            size=len(real),
            description=f"{len(real)} real RSNA 2017 training films (non-commercial research "
            f"and education terms), {phantoms} phantoms, and {len(negatives)} negatives made "
            "by boneage.training.gate.train (noise, other pictures, blurred and cut-off "
            "hands)",
        ),
        held_out=HeldOut(
            kind="rsna-2017-train-calibration",
            size=len(calibration),
            metrics={
                "threshold": round(threshold, 4),
                "false_rejection/calibration_hands": round(
                    float((hand_probability < threshold).mean()), 4
                ),
                "false_rejection/held_out_phantoms": round(
                    float((held_phantoms < threshold).mean()), 4
                ),
                "rejected/all_held_out_negatives": round(float(caught.mean()), 4),
                "named_right/held_out_negatives": round(float(named.mean()), 4),
                **per_class,
            },
        ),
        settings={"epochs": epochs, "negatives_per_class": negatives_per_class, "seed": seed},
    )
    card.save(out_dir / "card.json")
    return card


def _fit(images: np.ndarray, labels: np.ndarray, *, epochs: int, seed: int) -> GateNetwork:
    """Cross-entropy with class weights (the hands outnumber each negative kind), AdamW,
    one-cycle, augmented by the one pipeline of :mod:`boneage.training.common.augment`."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    network = GateNetwork(GateConfig())
    tensor = torch.from_numpy(images)[:, None]
    targets = torch.from_numpy(labels)
    counts = torch.bincount(targets, minlength=len(CLASSES)).float()
    weights = counts.sum() / (len(CLASSES) * counts.clamp(min=1))
    batch = 64
    steps = epochs * (len(images) // batch)
    optimizer = torch.optim.AdamW(network.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
    network.train()
    with tqdm(total=steps, desc="train gate", unit="step") as bar:
        for _ in range(epochs):
            order = torch.randperm(len(images), generator=generator)
            for start in range(0, len(order) - batch + 1, batch):
                index = order[start : start + batch]
                logits = network(augment_batch(tensor[index], generator).images)
                loss = F.cross_entropy(logits, targets[index], weight=weights)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                bar.update()
                bar.set_postfix(loss=f"{loss.item():.3f}")
    network.eval()
    log.info("gate trained: %d steps", steps)
    return network

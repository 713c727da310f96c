"""Every hand of a cached real dataset measured once by the landmark U-Net, kept for refitting.

Fitting the reference table, calibrating it and drawing the learning curve all read the same
measurements of the same films; the network runs once over the cache
(:class:`~boneage.training.common.image_cache.ImageCache`, whose squares are exactly the runtime's
:func:`~boneage.framing.field.field_square` input) and the measurements go to a JSON-lines file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn
from tqdm import tqdm

from boneage.multistep.landmarks import INPUT_SIDE, locate_batch
from boneage.multistep.measure import HandMeasurements, measure_hand
from boneage.multistep.run import hand_rejection_reason
from boneage.training.common.image_cache import ImageCache
from boneage.training.reference.fit import Sample


@dataclass(frozen=True)
class MeasuredHand:
    """One cached film, measured: its id, split, and the sample a table fits or is scored on."""

    id: str
    split: str
    sample: Sample

    @property
    def rejection(self) -> str | None:
        """Why the multi-step path would reject this hand (None when it reads it)."""
        measurements = self.sample.measurements
        assert isinstance(measurements, HandMeasurements)
        return hand_rejection_reason(measurements)


def measure_cache(
    cache: ImageCache, network: nn.Module, *, batch_size: int = 16
) -> list[MeasuredHand]:
    """Run the landmark U-Net over every image of ``cache`` and measure each hand."""
    if cache.images.shape[-1] != INPUT_SIDE:
        raise ValueError(f"the cache holds {cache.images.shape[-1]} px squares, not {INPUT_SIDE}")
    network.eval()
    measured: list[MeasuredHand] = []
    for start in tqdm(range(0, len(cache.ids), batch_size), desc="measure hands", unit="batch"):
        stop = start + batch_size
        maps = locate_batch(network, cache.images[start:stop].astype(np.float32) / 255)
        for i, hand in enumerate(maps, start):
            sample = Sample(
                measure_hand(hand),
                float(cache.age_months[i]),
                "M" if cache.male[i] else "F",
            )
            measured.append(MeasuredHand(str(cache.ids[i]), str(cache.split[i]), sample))
    return measured


def save_measured(hands: list[MeasuredHand], path: Path) -> None:
    with path.open("w") as out:
        for hand in hands:
            measurements = hand.sample.measurements
            assert isinstance(measurements, HandMeasurements)
            row = {
                "id": hand.id,
                "split": hand.split,
                "age_months": hand.sample.age_months,
                "sex": hand.sample.sex,
                "measurements": measurements.to_dict(),
            }
            out.write(json.dumps(row) + "\n")


def load_measured(path: Path) -> list[MeasuredHand]:
    hands = []
    with path.open() as lines:
        for line in lines:
            row = json.loads(line)
            sample = Sample(
                HandMeasurements.from_dict(row["measurements"]), row["age_months"], row["sex"]
            )
            hands.append(MeasuredHand(row["id"], row["split"], sample))
    return hands

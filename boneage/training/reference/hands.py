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
from boneage.training.cnn.poses import PoseCache
from boneage.training.cnn.train import canonical_inputs
from boneage.training.common.image_cache import ImageCache, at_side
from boneage.training.reference.fit import Sample

NO_POSE = "no canonical pose"
"""Why a film of a canonical-crop measurement was not measured in the crop."""


@dataclass(frozen=True)
class MeasuredHand:
    """One cached film, measured: its id, split, and the sample a table fits or is scored on."""

    id: str
    split: str
    sample: Sample
    unposed: bool = False
    """Measured on the whole film because the palm gave no canonical pose: left out of a
    canonical table's fit and figures (the runtime reads such a film with the whole-film table)."""

    @property
    def rejection(self) -> str | None:
        """Why the multi-step path would reject this hand (None when it reads it)."""
        if self.unposed:
            return NO_POSE
        measurements = self.sample.measurements
        assert isinstance(measurements, HandMeasurements)
        return hand_rejection_reason(measurements)


def measure_cache(
    cache: ImageCache,
    network: nn.Module,
    *,
    poses: PoseCache | None = None,
    batch_size: int = 16,
) -> list[MeasuredHand]:
    """Run the landmark U-Net over every image of ``cache`` and measure each hand: on the whole
    film as the runtime frames it, or with ``poses`` in each film's canonical crop at the
    U-Net's side, sampled from the cached film (a film without a pose on the whole film, marked
    :attr:`MeasuredHand.unposed`)."""
    if poses is None and cache.images.shape[-1] != INPUT_SIDE:
        raise ValueError(f"the cache holds {cache.images.shape[-1]} px squares, not {INPUT_SIDE}")
    network.eval()
    measured: list[MeasuredHand] = []
    for start in tqdm(range(0, len(cache.ids), batch_size), desc="measure hands", unit="batch"):
        block = slice(start, start + batch_size)
        films = cache.images[block]
        if poses is None:
            inputs = films.astype(np.float32) / 255
            posed = np.zeros(len(films), dtype=bool)
        else:
            posed = poses.found[block]
            matrices = np.nan_to_num(poses.matrices[block])
            inputs = canonical_inputs(films, matrices, INPUT_SIDE)[:, 0].numpy()
            if not posed.all():
                inputs[~posed] = at_side(films[~posed], INPUT_SIDE)[:, 0].numpy()
        for offset, hand in enumerate(locate_batch(network, inputs)):
            i = start + offset
            sample = Sample(
                measure_hand(hand),
                float(cache.age_months[i]),
                "M" if cache.male[i] else "F",
            )
            unposed = poses is not None and not posed[offset]
            measured.append(MeasuredHand(str(cache.ids[i]), str(cache.split[i]), sample, unposed))
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
                "unposed": hand.unposed,
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
            hands.append(MeasuredHand(row["id"], row["split"], sample, row.get("unposed", False)))
    return hands

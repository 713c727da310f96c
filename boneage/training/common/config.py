"""The one configuration of a time-budgeted training run, shared by the real-data trainers.

What a network is (encoder, input side, widths) belongs to that network's own config
(:class:`boneage.endtoend.cnn.RegressorConfig`, :class:`boneage.multistep.landmarks.
LandmarkConfig`); this says only how long and how it is trained. Each trainer's defaults are an
instance of it (:data:`CNN_TRAINING`, :data:`LANDMARK_TRAINING`), here so that the command line
can show them without importing a network.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainConfig:
    """How long (wall time and epochs, whichever ends first), in what batches and with which
    AdamW settings a network trains, and its seed; stored in the checkpoint and on the card."""

    budget_minutes: float = 75.0
    max_epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    bfloat16: bool = True
    """Train under bfloat16 autocast on the CPU (about twice as fast on this project's CPUs)."""


CNN_TRAINING = TrainConfig()
"""The shipped end-to-end CNN's run: 75 minutes or 40 epochs of batches of 32."""

LANDMARK_TRAINING = TrainConfig(
    budget_minutes=40.0, max_epochs=200, batch_size=16, learning_rate=3e-3
)
"""The shipped landmark U-Net's run."""

"""The learned half of the quality gate: is this an assessable hand radiograph, and if not, what?

The outline rules of :mod:`boneage.quality.orientation` were written on phantoms and ten real
films. On real RSNA films they called a hand "not a hand" for 43 % of a 300-image sample of
``val``: collimated fields, dark film, burnt-in letters and padding bars make the largest bright
object a rectangle, not a hand. A small CNN trained on real hands against synthetic and corrupted
negatives (``boneage.training.gate.train``) reads the whole film instead and names the kind of
image it sees, so a rejection still says why in words; the outline's own finding is quoted beside
it.

The network sees the bone-bright film framed by :func:`boneage.framing.field.frame_field`, at
:data:`GATE_SIDE` pixels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from boneage.checkpoints import load_half, save_half
from boneage.framing.field import FieldFrame

GATE_SIDE = 96
"""Side of the gate's input: enough to see fingers, wrist and blur, cheap on a CPU."""

CLASSES: tuple[str, ...] = ("hand", "noise", "other", "blurred", "cut_off")
"""What the gate tells apart; index 0 is an assessable hand radiograph."""

CLASS_WORDS = {
    "noise": "it shows noise or an empty field, not anatomy",
    "other": "it shows something other than a hand (a trunk, a photograph, a shape or a gradient)",
    "blurred": "it is too blurred for the bones' edges to be seen",
    "cut_off": "the hand is cut off: fingers without the wrist and carpus",
}
"""The reason given in words for each rejected class."""


@dataclass(frozen=True)
class GateConfig:
    """Everything needed to rebuild the network; stored in the checkpoint."""

    widths: tuple[int, ...] = (16, 32, 64, 96)
    threshold: float = 0.5
    """Probability of ``hand`` below which the film is rejected; calibrated on real hands."""


class GateNetwork(nn.Module):
    """Four strided conv blocks, global pooling, one linear layer to :data:`CLASSES` logits."""

    def __init__(self, config: GateConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        width_in = 1
        for width in config.widths:
            layers += [
                nn.Conv2d(width_in, width, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.Conv2d(width, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            width_in = width
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classify = nn.Linear(width_in, len(CLASSES))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(image * 2.0 - 1.0))


@dataclass(frozen=True)
class GateVerdict:
    """The gate's reading of one film: the probability that it is an assessable hand, the most
    likely other kind, and the reason in words when it is rejected."""

    hand_probability: float
    likely: str
    rejected: str | None


@dataclass
class Gate:
    """A loaded gate network with its threshold."""

    network: GateNetwork

    def probabilities(self, squares: np.ndarray) -> np.ndarray:
        """Class probabilities (N, len(CLASSES)) for gate inputs (N, GATE_SIDE, GATE_SIDE)."""
        self.network.eval()
        with torch.no_grad():
            tensor = torch.as_tensor(np.asarray(squares, dtype=np.float32))[:, None]
            return torch.softmax(self.network(tensor), dim=1).numpy()

    def judge(self, field: FieldFrame) -> GateVerdict:
        """Judge a bone-bright film in its acquired pose, framed by
        :func:`boneage.framing.field.frame_field`."""
        square = field.at(GATE_SIDE).image
        probabilities = self.probabilities(square[None])[0]
        hand = float(probabilities[0])
        likely = CLASSES[1 + int(np.argmax(probabilities[1:]))]
        if hand >= self.network.config.threshold:
            return GateVerdict(hand, "hand", None)
        return GateVerdict(hand, likely, CLASS_WORDS[likely])

    def save(self, path: Path) -> None:
        save_half(self.network, path, config=asdict(self.network.config))


def load_gate(path: Path) -> Gate:
    """Load a checkpoint written by :meth:`Gate.save`; ModelUnavailable when unreadable."""

    def build(raw: dict) -> GateNetwork:
        config = raw["config"]
        return GateNetwork(
            GateConfig(widths=tuple(config["widths"]), threshold=float(config["threshold"]))
        )

    network, _ = load_half(path, "the quality-gate model", build)
    return Gate(network)

"""The hand-landmark U-Net for real radiographs: joint centres and maturity regions in one pass.

On a real film there is no per-bone mask to learn from, but there are annotations that name
what a bone-age reader looks at (see ``docs/real-data.md``):

- the **21 hand landmarks** (:data:`LANDMARKS`): the centre of the distal radius, the thumb's
  metacarpal base, MCP and IP joints and tip, and for each finger its MCP, PIP and DIP joint
  centres and tip. A phalanx is the segment between two consecutive joint centres, so bone
  lengths follow from the landmarks directly;
- two **region maps** (:data:`REGIONS`): the joint regions (each finger joint and the carpus with
  the wrist) and, inside them, the ossified epiphyses and carpal bones. How much of a joint
  region its epiphysis fills is what Greulich & Pyle describe from the first appearance of a
  centre to its capping of the metaphysis, and the carpal bones' share of the carpus grows
  from birth to adolescence.

One segmentation-models-pytorch U-Net predicts both: two sigmoid region channels and one
heatmap per landmark, each read as a spatial softmax (its peak is the landmark, and how much of
the probability lies near the peak says how sure the network is that the landmark is on the
film). It reads the whole film as :func:`boneage.framing.field.field_square` frames it, as
acquired (no turning or mirroring), at 256 pixels: the same input as the end-to-end CNN, so no
hand outline has to be traced on films whose outline cannot be traced.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import segmentation_models_pytorch as smp
import torch
from torch import nn

from boneage.checkpoints import load_half, save_half

FINGERS = ("thumb", "index", "middle", "ring", "little")
"""Digits 1-5, as the anatomy numbers them."""

LANDMARKS: tuple[str, ...] = (
    "wrist",
    "thumb_cmc",
    "thumb_mcp",
    "thumb_ip",
    "thumb_tip",
    *(f"{finger}_{joint}" for finger in FINGERS[1:] for joint in ("mcp", "pip", "dip", "tip")),
)
"""Landmark channels in order. ``wrist`` is the centre of the distal radius, ``thumb_cmc`` the
base of the first metacarpal."""

REGIONS = ("joint", "epiphysis")
"""Region channels: joint regions (finger joints, carpus and wrist) and ossified epiphyses and
carpal bones."""

INPUT_SIDE = 256
_DEPTH = 5


@dataclass(frozen=True)
class LandmarkConfig:
    """Constructor arguments of the network, stored in its file."""

    encoder: str = "tu-mobilenetv3_small_100"
    decoder_channels: tuple[int, ...] = (64, 32, 24, 16, 16)
    input_side: int = INPUT_SIDE

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LandmarkConfig:
        return cls(**{**raw, "decoder_channels": tuple(raw["decoder_channels"])})


def build_landmark_net(config: LandmarkConfig = LandmarkConfig()) -> nn.Module:
    """A randomly initialised U-Net: one input channel, the region channels then one heatmap per
    landmark."""
    return smp.Unet(
        encoder_name=config.encoder,
        encoder_weights=None,
        encoder_depth=_DEPTH,
        decoder_channels=config.decoder_channels,
        in_channels=1,
        classes=len(REGIONS) + len(LANDMARKS),
    )


def save_landmark_net(network: nn.Module, config: LandmarkConfig, path: Path) -> None:
    save_half(network, path, config=asdict(config))


def load_landmark_net(path: Path) -> tuple[nn.Module, LandmarkConfig]:
    """Read a file of :func:`save_landmark_net` (float32, eval mode)."""
    holder: dict[str, LandmarkConfig] = {}

    def build(raw: dict[str, Any]) -> nn.Module:
        holder["config"] = LandmarkConfig.from_dict(raw["config"])
        return build_landmark_net(holder["config"])

    network, _ = load_half(path, "the hand-landmark model", build)
    return network, holder["config"]


@dataclass(frozen=True)
class Landmark:
    """One landmark: (row, column) in pixels of the model input, and its confidence, the share
    of its heatmap's probability within :data:`PEAK_RADIUS` pixels of the peak."""

    row: float
    col: float
    confidence: float


PEAK_RADIUS = 4
"""Pixels (at 256) around a heatmap's peak whose probability counts as the landmark's
confidence: about a third of a child's proximal-phalanx length on a whole film."""


@dataclass(frozen=True)
class HandMap:
    """What the network sees on one film: region masks (bool, input size) and the landmarks."""

    joint: np.ndarray
    epiphysis: np.ndarray
    landmarks: dict[str, Landmark]


def _landmark(heatmap: torch.Tensor) -> Landmark:
    """Peak of a spatial softmax, refined to the probability-weighted mean around it."""
    height, width = heatmap.shape
    probability = torch.softmax(heatmap.flatten().float(), 0).reshape(height, width)
    peak = int(torch.argmax(probability))
    row, col = divmod(peak, width)
    r0, r1 = max(0, row - PEAK_RADIUS), min(height, row + PEAK_RADIUS + 1)
    c0, c1 = max(0, col - PEAK_RADIUS), min(width, col + PEAK_RADIUS + 1)
    window = probability[r0:r1, c0:c1]
    mass = float(window.sum())
    rows = torch.arange(r0, r1, dtype=torch.float32)[:, None]
    cols = torch.arange(c0, c1, dtype=torch.float32)[None, :]
    return Landmark(
        row=float((window * rows).sum() / mass),
        col=float((window * cols).sum() / mass),
        confidence=mass,
    )


def locate(network: nn.Module, image: np.ndarray) -> HandMap:
    """Run the network on one model input (float 0..1, :data:`INPUT_SIDE` square)."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {image.shape}")
    return locate_batch(network, image[None])[0]


def locate_batch(network: nn.Module, images: np.ndarray) -> list[HandMap]:
    """:func:`locate` for a stack of model inputs (N, S, S), in one forward pass."""
    with torch.inference_mode():
        output = network(torch.from_numpy(np.asarray(images, dtype=np.float32))[:, None])
    maps = []
    for item in output:
        regions = item[: len(REGIONS)] > 0
        maps.append(
            HandMap(
                joint=regions[0].numpy(),
                epiphysis=regions[1].numpy(),
                landmarks={
                    name: _landmark(item[len(REGIONS) + i]) for i, name in enumerate(LANDMARKS)
                },
            )
        )
    return maps

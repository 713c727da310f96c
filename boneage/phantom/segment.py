"""The bone-segmentation U-Net (segmentation-models-pytorch) and its inference.

Architecture, chosen for a CPU deployment (timings on the project's shared 2-core machine, one
torch thread, 256 x 256 input):

- Encoder ``tu-mobilenetv3_small_100`` (timm's MobileNetV3-Small, random init: no weights are
  downloaded). Depthwise-separable blocks keep the whole U-Net at ~1.4 M parameters (~2.8 MB in
  fp16, well under the 12 MB limit of the shipped checkpoint), ~40 ms per image at inference and
  ~1.2 s per training step of 8 images, so a useful model trains on CPU in minutes. A ResNet-18
  encoder measured 12.5 M parameters (25 MB fp16) and 130 ms; MobileNetV2 3-4 M and 50-75 ms.
- Decoder channels (64, 32, 16, 16, 8): the default (256, 128, 64, 32, 16) costs four times the
  compute; 51 classes of mostly convex bones need little decoder width, while the full five-level
  depth keeps the receptive field that tells one finger from the next.
- Input size 256 (:data:`boneage.framing.field.INPUT_SIZE`): at a typical hand crop of 150-200 mm a
  pixel is 0.6-0.8 mm, so the smallest centres (an infant's pisiform-sized nuclei, the fifth distal
  epiphysis, 2-3 mm) still cover several pixels; 320 would cost ~1.5 x at every step.
"""

from __future__ import annotations

import pickle
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import segmentation_models_pytorch as smp
import torch
from torch import nn

from boneage.errors import ModelUnavailable
from boneage.framing.field import INPUT_SIZE
from boneage.phantom.anatomy import NUM_CLASSES

_DEPTH = 5
"""Encoder depth: inputs are padded to a multiple of 2**5 pixels."""


@dataclass(frozen=True)
class UNetConfig:
    """Constructor arguments of the U-Net, stored in every checkpoint."""

    encoder: str = "tu-mobilenetv3_small_100"
    decoder_channels: tuple[int, ...] = (64, 32, 16, 16, 8)
    size: int = INPUT_SIZE
    num_classes: int = NUM_CLASSES

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> UNetConfig:
        return cls(**{**raw, "decoder_channels": tuple(raw["decoder_channels"])})


def build_unet(config: UNetConfig = UNetConfig()) -> nn.Module:
    """A randomly initialised U-Net: 1 input channel (the preprocessed radiograph), one output
    channel per class of :mod:`boneage.phantom.anatomy` (background included)."""
    return smp.Unet(
        encoder_name=config.encoder,
        encoder_weights=None,
        encoder_depth=_DEPTH,
        decoder_channels=config.decoder_channels,
        in_channels=1,
        classes=config.num_classes,
    )


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def save_unet(model: nn.Module, config: UNetConfig, path: Path) -> None:
    """Write the weights in fp16 (half the bytes, no measurable change in the argmax) with the
    config: the file a model card points to and :func:`load_unet` reads."""
    weights = {
        key: value.half() if value.is_floating_point() else value
        for key, value in model.state_dict().items()
    }
    torch.save({"config": asdict(config), "weights": weights}, path)


def load_unet(path: Path, device: str | torch.device = "cpu") -> tuple[nn.Module, UNetConfig]:
    """Load a file written by :func:`save_unet` into an fp32 model in eval mode."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        config = UNetConfig.from_dict(saved["config"])
        model = build_unet(config)
        model.load_state_dict({key: value.float() for key, value in saved["weights"].items()})
    except (OSError, RuntimeError, KeyError, TypeError, pickle.UnpicklingError) as error:
        raise ModelUnavailable(f"The segmentation model {path} cannot be read: {error}") from error
    return model.to(device).eval(), config


def segment(model: nn.Module, image: np.ndarray) -> np.ndarray:
    """Label ids (uint8, same (H, W) as ``image``) of the argmax of ``model`` on a preprocessed
    image (float 0..1, see :func:`boneage.phantom.crop.preprocess`). The image is zero-padded to a
    multiple of 32 pixels, which the five-level U-Net needs, and the padding is cut off again."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {image.shape}")
    step = 2**_DEPTH
    height, width = image.shape
    padded = np.pad(image, ((0, -height % step), (0, -width % step)))
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        logits = model(torch.from_numpy(padded)[None, None].to(device))
    model.train(was_training)
    return logits[0, :, :height, :width].argmax(0).to(torch.uint8).cpu().numpy()

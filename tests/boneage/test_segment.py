"""The U-Net: its size budget, the fp16 checkpoint round trip, and inference shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boneage.errors import ModelUnavailable
from boneage.phantom.anatomy import NUM_CLASSES
from boneage.phantom.segment import (
    UNetConfig,
    build_unet,
    load_unet,
    parameter_count,
    save_unet,
    segment,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_unet().eval()


def test_shipped_checkpoint_fits_the_12_mb_budget(model, tmp_path):
    path = tmp_path / "unet.pt"
    save_unet(model, UNetConfig(), path)
    assert path.stat().st_size < 12 * 1024 * 1024
    assert parameter_count(model) * 2 < path.stat().st_size * 1.1


def test_fp16_round_trip_keeps_the_segmentation(model, tmp_path):
    path = tmp_path / "unet.pt"
    save_unet(model, UNetConfig(), path)
    loaded, config = load_unet(path)
    image = np.random.default_rng(0).random((256, 256), dtype=np.float32)
    assert config == UNetConfig()
    agreement = np.mean(segment(model, image) == segment(loaded, image))
    assert agreement > 0.99


def test_segment_returns_label_ids_at_the_input_size_even_off_the_32_pixel_grid(model):
    image = np.zeros((250, 231), np.float32)
    labels = segment(model, image)
    assert labels.shape == (250, 231)
    assert labels.dtype == np.uint8
    assert labels.max() < NUM_CLASSES


def test_unreadable_checkpoint_is_a_typed_error(tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelUnavailable):
        load_unet(path)

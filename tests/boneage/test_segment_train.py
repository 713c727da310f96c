"""Training the U-Net: checkpoint, card and resume (a tiny run, marked ``training``)."""

from __future__ import annotations

import pytest
import torch

from boneage.modelcard import ModelCard
from boneage.phantom.segment import load_unet
from boneage.phantom.segment_train import SegmentTrainConfig, train_segmentation
from boneage.training.common.splits import HELD_OUT_FIRST_SEED

pytestmark = pytest.mark.training


def test_tiny_run_writes_weights_and_a_card_and_resumes_where_it_stopped(tmp_path):
    torch.set_num_threads(1)
    config = SegmentTrainConfig(n_train=4, epochs=1, n_held_out=2, batch_size=2)
    card = train_segmentation(config, tmp_path, device="cpu")
    assert card.kind == "segmentation"
    assert card.training_data.synthetic and card.training_data.seeds == (0, 1, 2, 3)
    assert card.held_out.size == 2 and "dice/mean" in card.held_out.metrics
    saved = ModelCard.load(tmp_path / "card.json")
    assert (saved.ident, saved.held_out, saved.file_sha256) == (
        card.ident,
        card.held_out,
        card.file_sha256,
    )
    load_unet(tmp_path / card.file)

    longer = SegmentTrainConfig(n_train=4, epochs=2, n_held_out=2, batch_size=2)
    train_segmentation(longer, tmp_path, resume=True, device="cpu")
    resumed = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert resumed["epoch"] == 1


def test_training_seeds_never_reach_the_held_out_seeds():
    with pytest.raises(ValueError):
        SegmentTrainConfig(n_train=10, epochs=1, seed=HELD_OUT_FIRST_SEED - 5).training_seeds()

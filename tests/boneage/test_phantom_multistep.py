"""The multi-step path end to end on phantoms, with an oracle segmenter that returns the true mask.

The oracle isolates measurement and lookup from the U-Net's accuracy (which the training test and
the held-out evaluation measure); the path itself (segment → measure → look up → overlay →
JSON) is the real one.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from boneage.errors import MissingSex
from boneage.multistep.table import ReferenceTable
from boneage.phantom import generate_phantom
from boneage.phantom.anatomy import NUM_CLASSES
from boneage.phantom.crop import crop_labels, preprocess
from boneage.phantom.multistep import MultistepRejection, MultistepResult, run_multistep
from boneage.phantom.reference_default import default_reference

torch.set_num_threads(1)


class OracleSegmenter(nn.Module):
    """Logits whose argmax is a given label mask, whatever the input."""

    def __init__(self, labels: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("labels", torch.from_numpy(labels.astype(np.int64)))
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        height, width = self.labels.shape
        padded = torch.zeros(image.shape[-2:], dtype=torch.int64)
        padded[:height, :width] = self.labels
        logits = nn.functional.one_hot(padded, NUM_CLASSES).permute(2, 0, 1).float()
        return logits[None].expand(image.shape[0], -1, -1, -1)


@pytest.fixture(scope="module")
def table() -> ReferenceTable:
    return default_reference()


@pytest.fixture(scope="module", params=[11, 12, 13])
def hand(request):
    phantom = generate_phantom(request.param, age_months=40.0 + 45.0 * (request.param - 11))
    prepared = preprocess(phantom.image)
    labels = crop_labels(phantom.labels, prepared)
    return phantom, prepared, OracleSegmenter(labels)


def test_true_masks_give_an_interval_around_the_phantom_age(hand, table):
    phantom, prepared, oracle = hand
    result = run_multistep(
        prepared.image,
        spacing_mm=prepared.spacing_mm(phantom.spacing_mm),
        sex=phantom.sex,
        model=oracle,
        reference=table,
    )
    assert isinstance(result, MultistepResult)
    assert result.spacing_mode == "absolute_mm"
    low, high = result.interval_months
    assert low <= phantom.age_months <= high
    assert abs(result.age_months - phantom.age_months) < 30.0


def test_without_spacing_the_estimate_uses_ratios_and_reports_no_millimetres(hand, table):
    phantom, prepared, oracle = hand
    result = run_multistep(
        prepared.image, spacing_mm=None, sex=phantom.sex, model=oracle, reference=table
    )
    assert result.spacing_mode == "ratios"
    bones = result.to_dict()["bones"]
    assert all(bone["length_mm"] is None for bone in bones)
    assert any(bone["length_ratio"] is not None for bone in bones)


def test_result_is_the_multistep_json_object_with_an_rgb_overlay(hand, table):
    phantom, prepared, oracle = hand
    result = run_multistep(
        prepared.image, spacing_mm=0.6, sex=phantom.sex, model=oracle, reference=table
    )
    payload = json.loads(json.dumps(result.to_dict()))
    assert {
        "age_months",
        "interval_months",
        "spacing_mode",
        "bones",
        "ossification",
        "outliers",
        "fragmented_fraction",
    } <= set(payload)
    assert payload["fragmented_fraction"] == 0.0  # the oracle's true mask: every bone one piece
    assert set(payload["ossification"]) >= {"present", "absent", "physes_fused"}
    long_bone = next(b for b in payload["bones"] if b["bone"] == "metacarpal_3")
    assert long_bone["length_mm"] > 0 and long_bone["age_months"] is not None
    assert result.overlay.dtype == np.uint8 and result.overlay.shape[-1] == 3


def test_an_empty_segmentation_is_a_rejection_with_a_reason(table):
    empty = OracleSegmenter(np.zeros((256, 256), np.uint8))
    result = run_multistep(
        np.zeros((256, 256), np.float32), spacing_mm=None, sex="F", model=empty, reference=table
    )
    assert isinstance(result, MultistepRejection)
    assert "0 of 21 long bones" in result.reason
    assert result.to_dict() == {"rejected": result.reason}


def test_sex_is_required(table):
    with pytest.raises(MissingSex):
        run_multistep(
            np.zeros((64, 64), np.float32),
            spacing_mm=None,
            sex=None,
            model=OracleSegmenter(np.zeros((64, 64), np.uint8)),
            reference=table,
        )


def test_a_scattered_segmentation_is_rejected_rather_than_measured(hand, table):
    """Labels strewn across the image (what the demo U-Net does on real radiographs) must not
    become an age: the rejection says how much of the segmentation was scattered."""
    phantom, prepared, oracle = hand
    labels = oracle.labels.numpy().copy()
    rng = np.random.default_rng(0)
    bone = labels > 0
    speckle = rng.random(labels.shape) < 0.4 * bone.sum() / bone.size
    labels[speckle & ~bone] = rng.integers(1, NUM_CLASSES, size=int((speckle & ~bone).sum()))
    result = run_multistep(
        prepared.image,
        spacing_mm=None,
        sex=phantom.sex,
        model=OracleSegmenter(labels),
        reference=table,
    )
    assert isinstance(result, MultistepRejection)
    assert "scattered" in result.reason and "%" in result.reason
    assert result.overlay is not None

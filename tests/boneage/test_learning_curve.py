"""The learning curve: equal step budgets, held-out evaluation of the multi-step path, and a tiny
end-to-end run of ``boneage learning-curve phantom`` that writes the table and the plot."""

from __future__ import annotations

import csv
import json
import math
import shutil

import numpy as np
import pytest
import torch
from torch import nn

from boneage.cli import main
from boneage.evaluation.curves import COLUMNS
from boneage.phantom import generate_phantom
from boneage.phantom.anatomy import NUM_CLASSES
from boneage.phantom.crop import crop_labels, preprocess
from boneage.phantom.evaluate import LabelledImage, evaluate_multistep
from boneage.phantom.learning_curve import CNN_BATCH, SEG_BATCH, epochs_for
from boneage.phantom.reference_default import default_reference
from boneage.registry import DEFAULT_DIRECTORY, load_models
from boneage.report.notes import other_method_sentence


class _FixedMasks(nn.Module):
    """A stand-in U-Net whose logits are the one-hot of a given label map (padded to 32 px)."""

    def __init__(self, labels: np.ndarray) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.labels = torch.from_numpy(labels.astype(np.int64))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        height, width = self.labels.shape
        logits = torch.zeros(1, NUM_CLASSES, *image.shape[-2:])
        logits[0, :, :height, :width] = nn.functional.one_hot(self.labels, NUM_CLASSES).permute(
            2, 0, 1
        )
        return logits


def _left_hand_with_mask(seed: int) -> tuple[LabelledImage, np.ndarray]:
    phantom = generate_phantom(seed)
    image, labels = phantom.image, phantom.labels
    if phantom.laterality == "R":
        image, labels = image[:, ::-1], labels[:, ::-1]
    prepared = preprocess(np.ascontiguousarray(image))
    case = LabelledImage(
        prepared.image, phantom.sex, phantom.age_months, prepared.spacing_mm(phantom.spacing_mm)
    )
    return case, crop_labels(np.ascontiguousarray(labels), prepared)


@pytest.mark.parametrize(("batch", "drop_last"), [(SEG_BATCH, False), (CNN_BATCH, True)])
def test_small_sets_get_about_as_many_steps_as_the_largest(batch, drop_last):
    steps = 5 * (200 // batch if drop_last else math.ceil(200 / batch))
    for n in (25, 50, 100, 200):
        per_epoch = n // batch if drop_last and n > batch else math.ceil(n / batch)
        given = epochs_for(n, steps, batch, drop_last=drop_last) * per_epoch
        assert abs(given - steps) <= per_epoch / 2 + 1
    assert epochs_for(1, 0, batch, drop_last=drop_last) == 1


def test_true_masks_give_an_estimate_for_every_hand_in_ratios_mode():
    torch.set_num_threads(1)
    case, labels = _left_hand_with_mask(10_000_123)
    result = evaluate_multistep([case], model=_FixedMasks(labels), reference=default_reference())
    assert result.spacing_mode == "ratios" and result.n_cases == 1 and result.n_rejected == 0
    assert math.isfinite(result.mae_months) and result.mae_months >= 0
    assert result.coverage_90 in (0.0, 1.0)


def test_an_empty_segmentation_is_counted_as_rejected_not_as_zero_error():
    case, labels = _left_hand_with_mask(10_000_124)
    blank = _FixedMasks(np.zeros_like(labels))
    result = evaluate_multistep([case, case], model=blank, reference=default_reference())
    assert result.n_cases == 2 and result.n_rejected == 2
    assert math.isnan(result.mae_months) and math.isnan(result.coverage_90)


def test_tiny_phantom_curve_writes_every_row_the_plot_and_the_cards(tmp_path):
    torch.set_num_threads(1)
    argv = [
        "learning-curve",
        "phantom",
        "--sizes",
        "4,8",
        "--seeds",
        "0",
        "--epochs-seg",
        "1",
        "--epochs-cnn",
        "1",
        "--held-out",
        "2",
        "--calibration",
        "4",
        "--selection",
        "1",
        "--device",
        "cpu",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0

    with (tmp_path / "learning_curve.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COLUMNS
    methods = ("multistep-default", "multistep-fitted", "cnn", "mean-age")
    assert sorted((r["method"], r["n_train"]) for r in rows) == sorted(
        (m, n) for m in methods for n in ("4", "8")
    )
    for row in rows:
        rejected, total = int(row["n_rejected"]), int(row["n_held_out"])
        assert total == 2
        assert math.isfinite(float(row["mae_months"])) or rejected == total
        if row["method"].startswith("multistep"):
            assert row["spacing_mode"] == "ratios"
    assert all(math.isfinite(float(r["mae_months"])) for r in rows if r["method"] == "cnn")

    payload = json.loads((tmp_path / "learning_curve.json").read_text())
    assert payload["settings"]["multistep_spacing_mode"] == "ratios"
    assert payload["settings"]["steps_seg"] == 1 and len(payload["rows"]) == len(rows)
    assert (tmp_path / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    models = tmp_path / "models"
    shutil.copytree(DEFAULT_DIRECTORY, models)
    assert (
        main(["attach-curve", str(tmp_path / "learning_curve.json"), "--models", str(models)]) == 0
    )
    bundle = load_models(models)
    points = bundle.cards.reference.learning_curve
    assert {(p["method"], p["n_train"]) for p in points} == {
        (m, n) for m in ("multistep", "endtoend") for n in (4, 8)
    }
    assert all(p == q for p, q in zip(points, bundle.cards.cnn.learning_curve, strict=True))
    assert "at 8 training cases the end-to-end method measured" in other_method_sentence(
        bundle.cards.reference, "endtoend"
    )

"""Training the landmark U-Net: annotations framed as the runtime frames the film, partial
supervision, resumable runs, the card's figures, and the real reference fit and curve."""

from __future__ import annotations

import csv
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from boneage.evaluation.real_curve import RealCurveConfig, cnn_budget_minutes, real_curve
from boneage.framing.field import field_square
from boneage.multistep.landmarks import INPUT_SIDE, LANDMARKS
from boneage.multistep.measure import BONES, JOINTS, HandMeasurements, JointMeasurement
from boneage.registry import load_card, load_landmarks
from boneage.training.common.augment import augment_batch
from boneage.training.common.config import LANDMARK_TRAINING
from boneage.training.landmarks.data import (
    csv_column,
    frame_mask,
    frame_points,
    load_annotated,
)
from boneage.training.landmarks.run import train_landmark_model
from boneage.training.landmarks.train import landmark_loss
from boneage.training.reference.fit import Sample
from boneage.training.reference.hands import MeasuredHand, load_measured, save_measured
from boneage.training.reference.run import fit_real_reference
from tests.boneage.real_sample import RSNA_SAMPLE


def test_annotations_are_framed_as_the_film_is():
    """A film with a black padding bar: a point and a mask pixel on a bright dot land on the dot
    in the framed model input."""
    pixels = np.full((300, 240), 0.3, np.float32)
    pixels[:, :40] = 0.0  # a padding bar, trimmed by field_square
    pixels[150:153, 120:123] = 1.0
    prepared = field_square(pixels, size=INPUT_SIDE)
    mask = np.zeros(pixels.shape, np.uint8)
    mask[151, 121] = 2
    ((row, col),) = frame_points(np.array([[121.0, 151.0]]), prepared)
    framed = frame_mask(mask, prepared, INPUT_SIDE)
    bright = np.argwhere(prepared.image > 0.5 * prepared.image.max()).mean(0)
    assert np.abs(bright - (row, col)).max() <= 1.0
    hits = np.argwhere(framed == 2)
    assert len(hits) and np.abs(hits.mean(0) - (row, col)).max() <= 1.0


def test_keypoint_columns_follow_the_csv_names():
    assert csv_column("wrist") == "wrist"
    assert csv_column("thumb_cmc") == "thumb1"
    assert csv_column("thumb_ip") == "thumb3"
    assert csv_column("index_mcp") == "forefinger1"
    assert csv_column("little_tip") == "pinky_finger4"


@pytest.fixture(scope="module")
def annotated_folder(tmp_path_factory):
    """Eight sample films with made-up annotations: keypoints on six, region masks on six."""
    folder = tmp_path_factory.mktemp("annotated")
    (folder / "images").mkdir()
    (folder / "roi_masks").mkdir()
    with (RSNA_SAMPLE / "labels.csv").open() as handle:
        labels = list(csv.DictReader(handle))[:8]
    rng = np.random.default_rng(0)
    rows = []
    for i, label in enumerate(labels):
        shutil.copy(RSNA_SAMPLE / "images" / f"{label['id']}.jpg", folder / "images")
        if i < 6:
            points = rng.uniform(40, 260, size=(len(LANDMARKS), 2))
            row = {"id": label["id"]}
            for name, (x, y) in zip(LANDMARKS, points, strict=True):
                row[f"{csv_column(name)}_x"], row[f"{csv_column(name)}_y"] = f"{x:.1f}", f"{y:.1f}"
            rows.append(row)
        if i >= 2:
            mask = np.zeros((299, 299), np.uint8)
            mask[100:140, 100:160] = 1
            mask[120:140, 110:150] |= 2
            Image.fromarray(mask).save(folder / "roi_masks" / f"{label['id']}.png")
    with (folder / "labels.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "boneage", "male"])
        writer.writeheader()
        writer.writerows(labels)
    with (folder / "split.csv").open("w") as handle:
        handle.write("id,split\n")
        handle.writelines(
            f"{r['id']},{'val' if i >= 6 else 'train'}\n" for i, r in enumerate(labels)
        )
    with (folder / "keypoints.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


def test_annotated_hands_carry_what_each_has(annotated_folder):
    hands = load_annotated(annotated_folder, "train")
    assert len(hands.ids) == 6
    assert hands.images.shape == (6, INPUT_SIDE, INPUT_SIDE)
    assert hands.has_landmarks.tolist() == [True] * 6
    assert hands.has_regions.sum() == 4
    assert np.isfinite(hands.landmarks).all()
    for regions, has in zip(hands.regions, hands.has_regions, strict=True):
        assert set(np.unique(regions)) == ({0, 1, 3} if has else {0})


def test_the_loss_counts_only_the_annotations_a_hand_has():
    torch.manual_seed(0)
    output = torch.randn(2, 2 + len(LANDMARKS), 32, 32)
    regions = torch.zeros(2, 1, 32, 32)
    points = torch.full((2, len(LANDMARKS), 2), float("nan"))
    none = landmark_loss(output, regions, points, torch.tensor([False, False]))
    assert none.item() == 0
    points[0] = 16.0
    with_points = landmark_loss(output, regions, points, torch.tensor([False, False]))
    points[0, 0] = 100.0  # pushed off the film by the pose: not scored
    fewer = landmark_loss(output, regions, points, torch.tensor([False, False]))
    assert with_points.item() > 0 and fewer.item() != with_points.item()
    assert landmark_loss(output, regions, points, torch.tensor([True, False])) > fewer


def test_the_pose_moves_points_with_the_image():
    images = torch.zeros(3, 1, 64, 64)
    points = torch.tensor([[[20.0, 30.0], [40.0, 12.0]]]).repeat(3, 1, 1)
    for b in range(3):
        for r, c in points[b].long():
            images[b, 0, r - 1 : r + 2, c - 1 : c + 2] = 1.0
    moved = augment_batch(
        images, torch.Generator().manual_seed(1), masks=images.clone(), landmarks=points
    )
    moved_regions, moved_points = moved.masks, moved.landmarks
    for b in range(3):
        hits = torch.nonzero(moved_regions[b, 0] > 0).float()
        for point in moved_points[b]:
            assert torch.cdist(point[None], hits).min() <= 1.5


def test_a_short_run_writes_a_card_the_registry_reads_and_resumes(annotated_folder, tmp_path):
    from boneage.cli import main

    args = ["train", "landmarks", str(annotated_folder), "--out", str(tmp_path)]
    assert main([*args, "--max-epochs", "1", "--batch-size", "2"]) == 0
    card = load_card(tmp_path)[0]
    assert card.kind == "segmentation" and card.settings["network"] == "landmarks"
    assert card.settings["steps"] == 3
    metrics = card.held_out.metrics
    assert metrics["hands_with_keypoints"] == 0 and metrics["hands_with_regions"] == 2
    assert 0 <= metrics["dice/epiphysis"] <= 1
    loaded, path = load_card(tmp_path)
    network = load_landmarks(path, loaded)  # refuses a card that is not a whole-film network
    assert not network.training
    config = replace(LANDMARK_TRAINING, budget_minutes=60, max_epochs=1, batch_size=2)
    again = train_landmark_model(annotated_folder, tmp_path, config, resume=True)
    assert again.settings["steps"] == 3  # already at its epoch budget: nothing more to do


def _hands(n: int, split: str, rng: np.random.Generator) -> list[MeasuredHand]:
    hands = []
    for i in range(n):
        age, sex = float(rng.uniform(12, 216)), str(rng.choice(["F", "M"]))
        offset = rng.normal(0, 0.06)
        joints = {}
        for joint in JOINTS:
            share = float(np.clip(age / 216 + offset + rng.normal(0, 0.06), 0, 1))
            joints[joint] = JointMeasurement(joint, 100, round(100 * share), 10.0, 10 * share)
        lengths = dict.fromkeys(BONES, 30.0) if i % 25 else {}  # every 25th unreadable
        measurements = HandMeasurements(lengths, joints, 70.0 if i % 25 else None, ())
        hands.append(MeasuredHand(f"{split}{i}", split, Sample(measurements, age, sex)))
    return hands


def test_the_real_fit_scores_val_and_counts_rejections(tmp_path):
    rng = np.random.default_rng(0)
    hands = _hands(500, "train", rng) + _hands(200, "val", rng)
    save_measured(hands, tmp_path / "hands.jsonl")
    hands = load_measured(tmp_path / "hands.jsonl")
    fit = fit_real_reference(hands, name="t", version="1", source="s", n_calibration=100)
    assert fit.n_val == 200
    assert fit.metrics["answered"] == pytest.approx(192 / 200)
    assert sum(fit.rejections.values()) == 8
    assert fit.metrics["mae_months"] < 20
    assert 0.8 <= fit.metrics["coverage_90"] <= 0.98
    assert all(reference.score is not None for reference in fit.table.sexes.values())


def test_films_without_a_canonical_pose_are_left_out_of_the_fit_and_its_figures():
    from dataclasses import replace

    rng = np.random.default_rng(2)
    hands = _hands(500, "train", rng) + _hands(200, "val", rng)
    hands = [replace(h, unposed=i % 10 == 0) for i, h in enumerate(hands)]
    fit = fit_real_reference(hands, name="t", version="1", source="s", n_calibration=100)
    unposed_val = sum(h.unposed for h in hands if h.split == "val")
    assert fit.metrics["val_without_pose"] == unposed_val == 20
    assert fit.n_fitted <= sum(not h.unposed for h in hands if h.split == "train")
    assert "no canonical pose" not in fit.rejections  # left out, not counted as rejected


def test_the_real_curve_resumes_where_it_stopped(tmp_path):
    from boneage.training.common.image_cache import ImageCache

    rng = np.random.default_rng(1)
    hands = _hands(500, "train", rng) + _hands(100, "val", rng)
    cache = ImageCache(
        ids=np.array([h.id for h in hands]),
        images=np.zeros((len(hands), 4, 4), np.uint8),
        age_months=np.array([h.sample.age_months for h in hands], np.float32),
        male=np.array([h.sample.sex == "M" for h in hands], np.float32),
        split=np.array([h.split for h in hands]),
        corrected=np.zeros(len(hands), bool),
        pixel_aspect=np.ones(len(hands), np.float32),
    )
    cache.save(tmp_path / "cache.npz")
    config = RealCurveConfig(
        sizes=(100, 300), seeds=(0, 1), n_calibration=100, methods=("multistep-fitted", "mean-age")
    )
    first = list(real_curve(config, tmp_path / "cache.npz", hands, tmp_path))
    assert len(first) == 8
    mean_rows = [r for r in first if r.method == "mean-age"]
    fitted_rows = [r for r in first if r.method == "multistep-fitted"]
    assert all(f.mae_months < m.mae_months for f, m in zip(fitted_rows, mean_rows, strict=True))
    assert list(real_curve(config, tmp_path / "cache.npz", hands, tmp_path, done=first)) == []
    more = RealCurveConfig(
        sizes=(100, 300, 400), seeds=(0, 1), n_calibration=100, methods=config.methods
    )
    added = list(real_curve(more, tmp_path / "cache.npz", hands, tmp_path, done=first))
    assert {(r.n_train, r.seed) for r in added} == {(400, 0), (400, 1)}


def test_the_cnn_budget_grows_with_the_hands_up_to_the_full_run():
    assert cnn_budget_minutes(50) == 1.0
    assert cnn_budget_minutes(800) < cnn_budget_minutes(3200) < cnn_budget_minutes(10_000)
    assert cnn_budget_minutes(100_000) == 95.0

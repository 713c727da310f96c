"""Datasets: the three RSNA CSV variants, phantom folders, DICOM folders, the phantom writer."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from monai.data import DataLoader
from PIL import Image

from boneage.errors import DatasetError
from boneage.phantom.dataset_writer import SEEDS_PER_DATASET, sample_seed, write_phantom_dataset
from boneage.training.common.datasets import (
    PhantomDataset,
    RecordDataset,
    RsnaDataset,
    read_dicom_folder,
    read_phantom_folder,
    read_rsna_labels,
)
from tests.boneage.radiograph_files import dicom_bytes, gradient_image
from tests.boneage.real_sample import RSNA_SAMPLE, val_ids

PHANTOM_SIZE = 96


def write_images(folder: Path, ids: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, identifier in enumerate(ids):
        values = (gradient_image(96, 80, peak=255) // (index + 1)).astype(np.uint8)
        Image.fromarray(values).save(folder / f"{identifier}.png")


@pytest.fixture(scope="module")
def phantom_folder(tmp_path_factory) -> Path:
    """Three small phantoms written once for the module (the writer is what is under test)."""
    folder = tmp_path_factory.mktemp("phantoms")
    write_phantom_dataset(folder, 3, seed=2, size=PHANTOM_SIZE)
    return folder


@pytest.mark.parametrize(
    ("header", "rows"),
    [
        ("id,boneage,male", ["1377,180,False", "1378,12,True"]),
        ("Image ID,male,Bone Age (months)", ["1377,FALSE,180", "1378,TRUE,12"]),
        ("Case ID,Sex,Ground truth bone age (months)", ["1377,F,180.0", "1378,M,12.0"]),
    ],
    ids=["training", "validation", "test"],
)
def test_each_rsna_csv_variant_gives_ids_ages_and_sexes(tmp_path, header, rows):
    (tmp_path / "labels.csv").write_text("\n".join([header, *rows]) + "\n")
    write_images(tmp_path, ["1377", "1378"])
    records = read_rsna_labels(tmp_path / "labels.csv", tmp_path)
    assert [(r.id, r.age_months, r.sex) for r in records] == [
        ("1377", 180.0, "F"),
        ("1378", 12.0, "M"),
    ]
    assert records[0].image_path == tmp_path / "1377.png"


def test_rsna_dataset_finds_its_csv_and_loads_cases(tmp_path):
    (tmp_path / "boneage-training-dataset.csv").write_text("id,boneage,male\n5,100,True\n")
    write_images(tmp_path / "images", ["5"])
    cases = list(RsnaDataset(tmp_path))
    assert len(cases) == 1
    assert cases[0].pixels.shape == (96, 80) and cases[0].pixels.max() == 1.0
    assert (cases[0].sex, cases[0].age_months, cases[0].labels) == ("M", 100.0, None)


def test_unknown_header_names_the_columns_it_found(tmp_path):
    (tmp_path / "labels.csv").write_text("patient,age_years,gender\n1,10,F\n")
    with pytest.raises(DatasetError, match="patient,age_years,gender"):
        read_rsna_labels(tmp_path / "labels.csv", tmp_path)


def test_missing_images_are_named_and_counted(tmp_path):
    ids = [str(i) for i in range(8)]
    (tmp_path / "labels.csv").write_text(
        "id,boneage,male\n" + "".join(f"{i},50,True\n" for i in ids)
    )
    write_images(tmp_path, ids[:1])
    with pytest.raises(DatasetError, match=r"7 images .* 1\.png, 2\.png.* and 2 more"):
        read_rsna_labels(tmp_path / "labels.csv", tmp_path)


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("1,ten,True", "not a number of months"),
        ("1,-3,True", "outside 0-240"),
        ("1,300,True", "outside 0-240"),
        ("1,100,maybe", "neither male nor female"),
        ("../etc,100,True", "not a plain file name"),
    ],
)
def test_bad_values_are_reported_with_their_line(tmp_path, row, words):
    (tmp_path / "labels.csv").write_text(f"id,boneage,male\n2,100,True\n{row}\n")
    write_images(tmp_path, ["1", "2"])
    with pytest.raises(DatasetError, match=f"line 3: .*{words}"):
        read_rsna_labels(tmp_path / "labels.csv", tmp_path)


def test_duplicate_ids_are_refused(tmp_path):
    (tmp_path / "labels.csv").write_text("id,boneage,male\n1,100,True\n1,90,False\n")
    write_images(tmp_path, ["1"])
    with pytest.raises(DatasetError, match="appears twice"):
        read_rsna_labels(tmp_path / "labels.csv", tmp_path)


def test_phantom_folder_has_the_documented_layout(phantom_folder):
    manifest = json.loads((phantom_folder / "dataset.json").read_text())
    header = (phantom_folder / "labels.csv").read_text().splitlines()[0]
    assert header == "id,boneage,male,spacing_mm,laterality,seed"
    assert manifest["dataset_seed"] == 2 and manifest["n"] == 3 and manifest["size"] == PHANTOM_SIZE
    assert manifest["sample_seeds"] == [2 * SEEDS_PER_DATASET + i for i in range(3)]
    seed = manifest["sample_seeds"][0]
    with Image.open(phantom_folder / "images" / f"{seed}.png") as image:
        assert image.mode == "I;16" and image.size == (PHANTOM_SIZE, PHANTOM_SIZE)
    with Image.open(phantom_folder / "masks" / f"{seed}.png") as mask:
        assert mask.mode == "L"


def test_phantom_images_and_masks_round_trip_the_generator(phantom_folder):
    from boneage.phantom import generate_phantom

    record = read_phantom_folder(phantom_folder)[1]
    phantom = generate_phantom(record.seed, size=PHANTOM_SIZE)
    case = [c for c in PhantomDataset(phantom_folder) if c.id == record.id][0]
    np.testing.assert_allclose(case.pixels, phantom.image, atol=1 / 65535)
    np.testing.assert_array_equal(case.labels, phantom.labels)
    assert record.age_months == pytest.approx(phantom.age_months, abs=1e-4)
    assert (record.sex, record.laterality) == (phantom.sex, phantom.laterality)
    assert record.spacing_mm == pytest.approx(phantom.spacing_mm, rel=1e-5)


def test_phantom_dataset_batches_as_monai_dictionaries(phantom_folder):
    batch = next(iter(DataLoader(PhantomDataset(phantom_folder), batch_size=3)))
    assert tuple(batch["image"].shape) == (3, 1, PHANTOM_SIZE, PHANTOM_SIZE)
    assert tuple(batch["label"].shape) == (3, 1, PHANTOM_SIZE, PHANTOM_SIZE)
    assert int(batch["label"].max()) > 0
    assert set(batch["sex"]) <= {"F", "M"}
    assert all(
        float(m) == float(s == "M") for m, s in zip(batch["male"], batch["sex"], strict=True)
    )


def test_datasets_of_different_seeds_share_no_sample():
    first = {sample_seed(0, i) for i in range(SEEDS_PER_DATASET - 5, SEEDS_PER_DATASET)}
    second = {sample_seed(1, i) for i in range(5)}
    assert first.isdisjoint(second)
    assert sample_seed(3, 4) == 3 * SEEDS_PER_DATASET + 4
    with pytest.raises(ValueError):
        sample_seed(0, SEEDS_PER_DATASET)


def test_writer_refuses_to_mix_two_datasets_in_one_folder(phantom_folder):
    with pytest.raises(DatasetError, match="already holds a dataset"):
        write_phantom_dataset(phantom_folder, 1, seed=3, size=PHANTOM_SIZE)


def test_missing_mask_is_reported(tmp_path, phantom_folder):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(phantom_folder, copy)
    victim = sorted((copy / "masks").iterdir())[0]
    victim.unlink()
    with pytest.raises(DatasetError, match=f"1 masks are missing.*{victim.name}"):
        read_phantom_folder(copy)


def test_dicom_folder_reads_tags_skips_other_files_and_joins_labels(tmp_path):
    nested = tmp_path / "series" / "1"
    nested.mkdir(parents=True)
    (nested / "IM0001").write_bytes(
        dicom_bytes(gradient_image(), PatientSex="F", PatientAge="010Y", PixelSpacing=[0.1, 0.2])
    )
    (tmp_path / "IM0002.dcm").write_bytes(dicom_bytes(gradient_image(), part10=False))
    (tmp_path / "notes.txt").write_text("hand, left\n")
    (tmp_path / "labels.csv").write_text("id,boneage,male\nIM0001,130,False\nIM0002,90,True\n")
    folder = read_dicom_folder(tmp_path)
    by_id = {r.id: r for r in folder.records}
    assert sorted(by_id) == ["IM0001", "IM0002"]
    first = by_id["IM0001"]
    assert (first.sex, first.chronological_age_months, first.age_months) == ("F", 120.0, 130.0)
    assert first.spacing_mm == pytest.approx(0.15)
    assert (by_id["IM0002"].sex, by_id["IM0002"].chronological_age_months) == ("M", None)
    assert [(p.name, "text document" in reason) for p, reason in folder.skipped] == [
        ("notes.txt", True)
    ]
    case = next(iter(RecordDataset(folder.records)))
    assert case.pixels.shape == (256, 200)


def test_dicom_folder_refuses_a_sex_the_tags_contradict(tmp_path):
    (tmp_path / "a").write_bytes(dicom_bytes(gradient_image(), PatientSex="F"))
    (tmp_path / "labels.csv").write_text("id,boneage,male\na,130,True\n")
    with pytest.raises(DatasetError, match="tags say sex F"):
        read_dicom_folder(tmp_path)


def test_unknown_numbers_batch_as_nan(tmp_path):
    (tmp_path / "labels.csv").write_text("id,boneage,male\n7,100,True\n")
    write_images(tmp_path, ["7"])
    item = RsnaDataset(tmp_path)[0]
    assert math.isnan(item["spacing_mm"]) and "label" not in item
    assert item["image"].shape == (1, 96, 80)


def test_rsna_folder_of_jpegs_with_a_split_file_selects_the_split():
    every = RsnaDataset(RSNA_SAMPLE)
    val = RsnaDataset(RSNA_SAMPLE, split="val")
    train = RsnaDataset(RSNA_SAMPLE, split="train")
    assert len(every) == len(val) + len(train) == 44
    assert {r.id for r in val.records} == set(val_ids())
    case = next(iter(val))
    assert case.record.image_path.suffix == ".jpg"
    assert case.pixels.shape == (299, 299) and case.sex in ("F", "M")


def test_an_unknown_split_names_the_splits_there_are():
    with pytest.raises(DatasetError, match="no image to 'test'.*train, val"):
        RsnaDataset(RSNA_SAMPLE, split="test")


def test_a_split_without_a_split_file_is_a_clear_error(tmp_path):
    (tmp_path / "labels.csv").write_text("id,boneage,male\n")
    with pytest.raises(DatasetError, match="split.csv"):
        RsnaDataset(tmp_path, split="val")

"""The registry: four models loaded once, each checked against its card."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import torch

from boneage.endtoend.cnn import AgeRegressor, Regressor, RegressorConfig
from boneage.errors import ModelUnavailable
from boneage.modelcard import HeldOut, ModelCard, TrainingData
from boneage.multistep.landmarks import LandmarkConfig, build_landmark_net, save_landmark_net
from boneage.phantom.reference_default import default_reference
from boneage.phantom.segment import UNetConfig, build_unet, save_unet
from boneage.quality.gate import Gate, GateConfig, GateNetwork
from boneage.registry import LANDMARK_NETWORK, load_models

torch.set_num_threads(1)


def _write_card(folder: Path, kind: str, file: str, **settings) -> None:
    ModelCard(
        name=f"{kind}-test",
        version="0.0.1",
        kind=kind,
        architecture="test",
        parameter_count=0,
        training_data=TrainingData(kind="phantom", size=1),
        held_out=HeldOut(kind="phantom", size=1),
        file=file,
        file_sha256=hashlib.sha256((folder / file).read_bytes()).hexdigest(),
        settings=settings,
    ).save(folder / "card.json")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    for folder in ("landmarks", "reference", "cnn", "gate"):
        (root / folder).mkdir()
    config = LandmarkConfig()
    save_landmark_net(build_landmark_net(config), config, root / "landmarks" / "landmarks.pt")
    _write_card(root / "landmarks", "segmentation", "landmarks.pt", network=LANDMARK_NETWORK)
    default_reference().save(root / "reference" / "reference.json")
    _write_card(root / "reference", "reference", "reference.json")
    Regressor(AgeRegressor(RegressorConfig(framing="field")), 1.645).save(root / "cnn" / "cnn.pt")
    _write_card(root / "cnn", "regression", "cnn.pt")
    Gate(GateNetwork(GateConfig())).save(root / "gate" / "gate.pt")
    _write_card(root / "gate", "gate", "gate.pt")
    return root


def test_bundle_holds_four_models_and_their_cards(model_dir):
    bundle = load_models(model_dir)
    assert set(bundle.cards.by_kind()) == {"segmentation", "reference", "regression", "gate"}
    assert bundle.gate.network.config.threshold == pytest.approx(GateConfig().threshold)
    assert bundle.cards.cnn.ident == "regression-test@0.0.1"
    assert bundle.cnn.interval_scale == pytest.approx(1.645)
    assert not bundle.landmarks.training


def test_a_canonical_table_brings_its_whole_film_fallback(model_dir, tmp_path):
    root = tmp_path / "m"
    shutil.copytree(model_dir, root)
    shutil.copytree(root / "reference", root / "reference-field")
    assert load_models(root).field_reference is None  # a whole-film table needs no fallback
    _write_card(root / "reference", "reference", "reference.json", framing="canonical")
    bundle = load_models(root)
    assert bundle.canonical_reference and bundle.field_reference is not None
    assert bundle.cards.by_role()["reference_field"].ident == "reference-test@0.0.1"
    assert "reference_field" not in bundle.cards.by_kind()


def test_a_phantom_era_bone_unet_is_refused_in_words(model_dir, tmp_path):
    """The runtime reads whole films: the bone U-Net of the phantom era reads a hand crop."""
    shutil.copytree(model_dir, tmp_path / "m")
    folder = tmp_path / "m" / "landmarks"
    save_unet(build_unet(UNetConfig()), UNetConfig(), folder / "unet.pt")
    _write_card(folder, "segmentation", "unet.pt")
    with pytest.raises(ModelUnavailable, match="not a landmark U-Net"):
        load_models(tmp_path / "m")


def test_a_cnn_trained_on_the_hand_crop_is_refused_in_words(model_dir, tmp_path):
    shutil.copytree(model_dir, tmp_path / "m")
    folder = tmp_path / "m" / "cnn"
    Regressor(AgeRegressor(RegressorConfig(framing="hand")), 1.645).save(folder / "cnn.pt")
    _write_card(folder, "regression", "cnn.pt")
    with pytest.raises(ModelUnavailable, match="hand crop"):
        load_models(tmp_path / "m")


def test_missing_folder_is_model_unavailable(model_dir, tmp_path):
    shutil.copytree(model_dir, tmp_path / "m")
    shutil.rmtree(tmp_path / "m" / "cnn")
    with pytest.raises(ModelUnavailable, match="No model card"):
        load_models(tmp_path / "m")


def test_replaced_file_fails_the_sha256_check(model_dir, tmp_path):
    shutil.copytree(model_dir, tmp_path / "m")
    with (tmp_path / "m" / "reference" / "reference.json").open("a") as stream:
        stream.write(" ")
    with pytest.raises(ModelUnavailable, match="does not match its card"):
        load_models(tmp_path / "m")


def test_missing_directory_is_model_unavailable(tmp_path):
    with pytest.raises(ModelUnavailable, match="does not exist"):
        load_models(tmp_path / "nowhere")

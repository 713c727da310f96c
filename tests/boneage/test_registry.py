"""The registry: four models loaded once, each checked against its card."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import torch

from boneage.errors import ModelUnavailable
from boneage.gate import Gate, GateConfig, GateNetwork
from boneage.modelcard import HeldOut, ModelCard, TrainingData
from boneage.reference import default_reference
from boneage.registry import load_models
from boneage.regress import AgeRegressor, Regressor, RegressorConfig
from boneage.segment import UNetConfig, build_unet, save_unet

torch.set_num_threads(1)


def _write_card(folder: Path, kind: str, file: str) -> None:
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
    ).save(folder / "card.json")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    for folder in ("unet", "reference", "cnn", "gate"):
        (root / folder).mkdir()
    save_unet(build_unet(UNetConfig()), UNetConfig(), root / "unet" / "unet.pt")
    _write_card(root / "unet", "segmentation", "unet.pt")
    default_reference().save(root / "reference" / "reference.json")
    _write_card(root / "reference", "reference", "reference.json")
    Regressor(AgeRegressor(RegressorConfig()), 1.645).save(root / "cnn" / "cnn.pt")
    _write_card(root / "cnn", "regression", "cnn.pt")
    Gate(GateNetwork(GateConfig())).save(root / "gate" / "gate.pt")
    _write_card(root / "gate", "gate", "gate.pt")
    return root


def test_bundle_holds_four_models_and_their_cards(model_dir):
    bundle = load_models(model_dir)
    assert set(bundle.cards) == {"segmentation", "reference", "regression", "gate"}
    assert bundle.gate.network.config.threshold == pytest.approx(GateConfig().threshold)
    assert bundle.cards["regression"].ident == "regression-test@0.0.1"
    assert bundle.regressor.interval_scale == pytest.approx(1.645)
    assert not bundle.unet.training


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

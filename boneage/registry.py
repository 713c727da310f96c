"""Loading the models once: the U-Net, the reference table, the CNN and the quality gate, each
with its card.

A model directory holds one folder per model (``unet/``, ``reference/``, ``cnn/``, ``gate/``),
each with a ``card.json`` (:class:`~boneage.modelcard.ModelCard`) and the file the card names. The
file's SHA-256 must match the card's, so a report never cites a card whose numbers belong to other
weights. The web app and the CLI call :func:`load_models` once and pass the bundle to every
assessment; nothing deeper reads model files.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from boneage.errors import ModelUnavailable
from boneage.gate import Gate, load_gate
from boneage.landmarks import load_landmark_net
from boneage.modelcard import ModelCard
from boneage.reference import ReferenceTable
from boneage.regress import Framing, Regressor, load_regressor
from boneage.segment import load_unet

DEFAULT_DIRECTORY = Path(__file__).parent / "demo_models"
"""The demo models shipped inside the package (trained on phantoms by ``boneage train-demo``)."""

FOLDERS = {"segmentation": "unet", "reference": "reference", "regression": "cnn", "gate": "gate"}
"""Folder of each kind of model inside a model directory."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelBundle:
    """Everything an assessment needs, loaded once; ``cards`` is keyed by model kind."""

    unet: torch.nn.Module
    unet_framing: Framing
    """``"field"``: the landmark U-Net reading the whole film (:mod:`boneage.landmarks`, trained
    on real films); ``"hand"``: the bone U-Net reading the hand crop (:mod:`boneage.segment`,
    trained on phantoms)."""
    reference: ReferenceTable
    regressor: Regressor
    gate: Gate
    cards: dict[str, ModelCard]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_card(folder: Path) -> tuple[ModelCard, Path]:
    """The card of one model folder and the verified path of its file.

    Raises :class:`ModelUnavailable` when the card or the file is missing or unreadable, or the
    file's SHA-256 is not the one on the card.
    """
    card_path = folder / "card.json"
    if not card_path.is_file():
        raise ModelUnavailable(
            f"No model card at {card_path}: train the models (boneage train-demo) or point "
            "to a model directory that has one."
        )
    try:
        card = ModelCard.load(card_path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelUnavailable(f"The model card {card_path} cannot be read: {error}") from error
    path = folder / card.file
    if not path.is_file():
        raise ModelUnavailable(f"The model file {path} named by {card_path} is missing.")
    actual = _sha256(path)
    if actual != card.file_sha256:
        raise ModelUnavailable(
            f"The model file {path} does not match its card (SHA-256 {actual[:12]}…, card says "
            f"{card.file_sha256[:12]}…): it was replaced or damaged."
        )
    return card, path


LANDMARK_NETWORK = "landmarks"
"""``settings["network"]`` on the card of a landmark U-Net."""


def load_segmentation(
    path: Path, card: ModelCard, device: str = "cpu"
) -> tuple[torch.nn.Module, Framing]:
    """The segmentation model of a card, and which framing of the film it reads."""
    if card.settings.get("network") == LANDMARK_NETWORK:
        network, _ = load_landmark_net(path)
        return network.to(device), "field"
    return load_unet(path, device)[0], "hand"


def load_models(directory: Path | None = None, device: str = "cpu") -> ModelBundle:
    """Load the four models of ``directory`` (default: the shipped demo models) onto ``device``."""
    directory = Path(directory) if directory is not None else DEFAULT_DIRECTORY
    if not directory.is_dir():
        raise ModelUnavailable(f"The model directory {directory} does not exist.")
    cards: dict[str, ModelCard] = {}
    paths: dict[str, Path] = {}
    for kind, folder in FOLDERS.items():
        card, path = load_card(directory / folder)
        if card.kind != kind:
            raise ModelUnavailable(f"{directory / folder} holds a {card.kind} model, not {kind}.")
        cards[kind], paths[kind] = card, path
    unet, framing = load_segmentation(paths["segmentation"], cards["segmentation"], device)
    logger.info(
        "models loaded from %s on %s: %s",
        directory,
        device,
        ", ".join(card.ident for card in cards.values()),
    )
    return ModelBundle(
        unet=unet,
        unet_framing=framing,
        reference=ReferenceTable.load(paths["reference"]),
        regressor=load_regressor(paths["regression"], device),
        gate=load_gate(paths["gate"]),
        cards=cards,
    )

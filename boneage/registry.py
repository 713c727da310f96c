"""Loading the models once: the landmark U-Net, the reference table, the CNN and the quality
gate, each with its card.

A model directory holds one folder per model (``landmarks/``, ``reference/``, ``cnn/``,
``gate/``), each with a ``card.json`` (:class:`~boneage.modelcard.ModelCard`) and the file the
card names. The file's SHA-256 must match the card's, so a report never cites a card whose
numbers belong to other weights. The web app and the CLI call :func:`load_models` once and pass
the bundle to every assessment; nothing deeper reads model files.

A card's ``kind`` is the model's role in the assessment contract (``segmentation`` for the
landmark U-Net, the multi-step path's finder, ``reference``, ``regression`` for the CNN,
``gate``): stored assessments and the clinic's pages are keyed by those roles.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from boneage.combined import Combination
from boneage.endtoend.cnn import Regressor, load_regressor
from boneage.errors import ModelUnavailable
from boneage.modelcard import ModelCard, ModelKind
from boneage.multistep.landmarks import load_landmark_net
from boneage.multistep.table import ReferenceTable
from boneage.quality.gate import Gate, load_gate

DEFAULT_DIRECTORY = Path(__file__).parent / "demo_models"
"""The models shipped inside the package: trained and fitted on the RSNA 2017 training films
(``boneage train``, ``boneage fit-reference``), their cards measured on its ``val`` split."""

FOLDERS: dict[ModelKind, str] = {
    "segmentation": "landmarks",
    "reference": "reference",
    "regression": "cnn",
    "gate": "gate",
}
"""Folder of each kind of model inside a model directory."""

FIELD_CNN_FOLDER = "cnn-field"
"""Folder of the whole-film CNN that backs up a canonical-crop CNN (optional)."""
FIELD_REFERENCE_FOLDER = "reference-field"
"""Folder of the whole-film reference table that backs up a canonical-crop table (optional)."""
COMBINATION_FOLDER = "combined"
"""Folder of the rule that pools the two estimates (optional)."""

LANDMARK_NETWORK = "landmarks"
"""``settings["network"]`` on the card of a landmark U-Net."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BundleCards:
    """The card of each model of a :class:`ModelBundle`."""

    landmarks: ModelCard
    reference: ModelCard
    cnn: ModelCard
    gate: ModelCard
    field_cnn: ModelCard | None = None
    """The whole-film CNN that reads a film whose hand the canonical crop cannot place."""
    combination: ModelCard | None = None
    """The rule that pools the two estimates into one (:mod:`boneage.combined`)."""
    field_reference: ModelCard | None = None
    """The whole-film table that reads a film whose hand the canonical crop cannot place."""

    def by_kind(self) -> dict[ModelKind, ModelCard]:
        """The cards keyed by their role in the assessment contract (``ModelCard.kind``); the
        whole-film fallback is not among them (see :meth:`by_role`)."""
        return {card.kind: card for card in (self.landmarks, self.reference, self.cnn, self.gate)}

    def by_role(self) -> dict[str, ModelCard]:
        """:meth:`by_kind` and, when installed, the whole-film fallbacks as
        ``regression_field`` and ``reference_field`` and the combination rule."""
        optional = {
            "regression_field": self.field_cnn,
            "reference_field": self.field_reference,
            "combination": self.combination,
        }
        return {**self.by_kind(), **{r: c for r, c in optional.items() if c is not None}}


@dataclass(frozen=True)
class ModelBundle:
    """Everything an assessment needs, loaded once."""

    landmarks: nn.Module
    """The landmark U-Net reading the whole film (:mod:`boneage.multistep.landmarks`)."""
    reference: ReferenceTable
    cnn: Regressor
    """The end-to-end CNN: on the canonical hand crop (or, in an older model directory, on the
    whole film)."""
    gate: Gate
    cards: BundleCards
    field_cnn: Regressor | None = None
    """The whole-film CNN, for films whose hand the canonical crop cannot place."""
    combination: Combination | None = None
    field_reference: ReferenceTable | None = None
    """The whole-film table, for films whose hand the canonical crop cannot place."""

    @property
    def canonical_reference(self) -> bool:
        """Whether ``reference`` was fitted on measurements in the canonical crop (its card's
        ``settings["framing"]``), so that the runtime must measure there."""
        return self.cards.reference.settings.get("framing") == "canonical"


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
            f"No model card at {card_path}: point to a model directory that has one (the "
            "package ships one, boneage/demo_models)."
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


def _load_folder(directory: Path, kind: ModelKind) -> tuple[ModelCard, Path]:
    """The card and file of the ``kind`` folder of ``directory``; the card must say ``kind``."""
    folder = directory / FOLDERS[kind]
    card, path = load_card(folder)
    if card.kind != kind:
        raise ModelUnavailable(f"{folder} holds a {card.kind} model, not {kind}.")
    return card, path


def load_landmarks(path: Path, card: ModelCard, device: str = "cpu") -> nn.Module:
    """The landmark U-Net of a verified card and file (:func:`load_card`), on ``device``.

    The runtime reads whole films only: the phantom era's bone-segmentation U-Net, whose card
    names no landmark network, is refused in words."""
    if card.settings.get("network") != LANDMARK_NETWORK:
        raise ModelUnavailable(
            f"{path} is not a landmark U-Net (its card names no network {LANDMARK_NETWORK!r}): "
            "the phantom era's bone U-Net reads a hand crop, which the runtime does not make."
        )
    network, _ = load_landmark_net(path)
    return network.to(device)


def load_models(directory: Path | None = None, device: str = "cpu") -> ModelBundle:
    """Load the four models of ``directory`` (default: the shipped models) onto ``device``.

    The runtime reads whole films only: a bone-segmentation U-Net or a CNN trained on the hand
    crop of the phantom era (:mod:`boneage.phantom`) is refused in words."""
    directory = Path(directory) if directory is not None else DEFAULT_DIRECTORY
    if not directory.is_dir():
        raise ModelUnavailable(f"The model directory {directory} does not exist.")
    landmarks_card, landmarks_path = _load_folder(directory, "segmentation")
    reference_card, reference_path = _load_folder(directory, "reference")
    cnn_card, cnn_path = _load_folder(directory, "regression")
    gate_card, gate_path = _load_folder(directory, "gate")
    landmarks = load_landmarks(landmarks_path, landmarks_card, device)
    cnn = _load_cnn(cnn_path, device, ("canonical", "field"))
    field_cnn, field_card = None, None
    if cnn.framing == "canonical" and (directory / FIELD_CNN_FOLDER).is_dir():
        field_card, field_path = load_card(directory / FIELD_CNN_FOLDER)
        field_cnn = _load_cnn(field_path, device, ("field",))
    combination, combination_card = None, None
    if (directory / COMBINATION_FOLDER).is_dir():
        combination_card, combination_path = load_card(directory / COMBINATION_FOLDER)
        combination = Combination.load(combination_path)
    field_reference, field_reference_card = None, None
    canonical = reference_card.settings.get("framing") == "canonical"
    if canonical and (directory / FIELD_REFERENCE_FOLDER).is_dir():
        field_reference_card, field_reference_path = load_card(directory / FIELD_REFERENCE_FOLDER)
        field_reference = ReferenceTable.load(field_reference_path)
    cards = BundleCards(
        landmarks_card,
        reference_card,
        cnn_card,
        gate_card,
        field_card,
        combination_card,
        field_reference_card,
    )
    logger.info(
        "models loaded from %s on %s: %s",
        directory,
        device,
        ", ".join(card.ident for card in cards.by_role().values()),
    )
    return ModelBundle(
        landmarks=landmarks,
        reference=ReferenceTable.load(reference_path),
        cnn=cnn,
        gate=load_gate(gate_path),
        cards=cards,
        field_cnn=field_cnn,
        combination=combination,
        field_reference=field_reference,
    )


def _load_cnn(path: Path, device: str, framings: tuple[str, ...]) -> Regressor:
    """A CNN whose framing is one of ``framings``; the phantom era's hand-crop CNN is refused
    in words."""
    cnn = load_regressor(path, device)
    if cnn.framing not in framings:
        raise ModelUnavailable(
            f"{path} is a CNN that reads the {cnn.framing} framing; this place takes "
            f"{' or '.join(framings)} (the phantom era's hand crop is not made by the runtime)."
        )
    return cnn

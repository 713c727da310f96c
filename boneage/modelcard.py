"""Model cards: what every shipped checkpoint or table says about itself.

A report names the exact model versions it used, and the confidence note is written from the
card: how much data the model saw, of what kind, and how accurate it measured on held-out data at
that size. A card is a JSON file beside its checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

ModelKind = Literal["segmentation", "reference", "regression", "gate", "combination"]


@dataclass(frozen=True)
class TrainingData:
    """Where the training data came from; ``kind`` is "phantom" or the name of a real dataset."""

    kind: str
    size: int
    seeds: tuple[int, ...] = ()
    description: str = ""

    @property
    def synthetic(self) -> bool:
        """Synthetic training has not been validated on real radiographs: notes must say so."""
        return self.kind == "phantom"


@dataclass(frozen=True)
class HeldOut:
    """Accuracy measured on data never used in training (phantoms of unseen seeds, or real)."""

    kind: str
    size: int
    mae_months: float | None = None
    coverage_90: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelCard:
    """One versioned model or table, and the evidence behind it."""

    name: str
    version: str
    kind: ModelKind
    architecture: str
    parameter_count: int
    training_data: TrainingData
    held_out: HeldOut
    file: str
    file_sha256: str
    created: str = field(default_factory=lambda: date.today().isoformat())
    code_version: str = ""
    learning_curve: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def ident(self) -> str:
        """The exact version a report cites, e.g. ``unet-demo@1.0.0``."""
        return f"{self.name}@{self.version}"

    def summary(self) -> dict[str, Any]:
        """The part of the card a report carries."""
        return {
            "id": self.ident,
            "kind": self.kind,
            "architecture": self.architecture,
            "training_data": asdict(self.training_data),
            "held_out": asdict(self.held_out),
            "file_sha256": self.file_sha256,
            "created": self.created,
            "code_version": self.code_version,
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> ModelCard:
        raw = json.loads(path.read_text())
        raw["training_data"] = TrainingData(
            **{**raw["training_data"], "seeds": tuple(raw["training_data"]["seeds"])}
        )
        raw["held_out"] = HeldOut(**raw["held_out"])
        return cls(**raw)

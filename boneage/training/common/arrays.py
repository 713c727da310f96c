"""Dataclasses of equal-length arrays kept as one ``.npz`` file (the image cache, annotated
hands): saved and loaded field by field, nothing pickled."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Self

import numpy as np


class SavedArrays:
    """A mixin for a dataclass whose every field is a numpy array."""

    compressed = False
    """Write with ``np.savez_compressed`` (masks and sparse maps shrink a lot)."""

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write = np.savez_compressed if self.compressed else np.savez
        write(path, **{f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def load(cls, path: Path) -> Self:
        with np.load(path, allow_pickle=False) as stored:
            return cls(**{f.name: stored[f.name] for f in fields(cls)})

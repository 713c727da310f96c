"""The 44 real RSNA films copied into the test data (see tests/data/rsna-sample/README.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

RSNA_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "rsna-sample"


def real_film(identifier: str) -> np.ndarray:
    """One sample film as float32 0..1, bone bright."""
    with Image.open(RSNA_SAMPLE / "images" / f"{identifier}.jpg") as image:
        return np.asarray(image.convert("L"), np.float32) / 255


def val_ids() -> list[str]:
    rows = (RSNA_SAMPLE / "split.csv").read_text().split()[1:]
    return [row.split(",")[0] for row in rows if row.endswith(",val")]

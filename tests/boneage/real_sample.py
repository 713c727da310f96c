"""The 44 real RSNA films copied into the test data (see tests/data/rsna-sample/README.md)."""

from __future__ import annotations

import os
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


UNLABELLED_REAL = Path(os.environ.get("BONEAGE_REAL_XRAYS") or "/nonexistent/boneage-real-xrays")
"""A folder of unlabelled real radiographs ``0.png``... (``BONEAGE_REAL_XRAYS``) that some
robustness tests also run on when it is set; they skip without it. The labelled films above
need no setting."""

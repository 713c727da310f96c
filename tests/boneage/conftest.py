"""Engine test fixtures: radiograph files written at test time, by pydicom, Pillow and dcmtk."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.boneage.radiograph_files import dicom_bytes

torch.set_num_threads(1)


@pytest.fixture
def write_dicom(tmp_path: Path) -> Callable[..., Path]:
    """Write :func:`dicom_bytes` to a file and return its path (named without an extension)."""
    count = iter(range(10_000))

    def write(stored: np.ndarray, **options: object) -> Path:
        path = tmp_path / f"study{next(count)}"
        path.write_bytes(dicom_bytes(stored, **options))
        return path

    return write


@pytest.fixture
def dcmtk(tmp_path: Path) -> Callable[..., Path]:
    """Run a dcmtk tool (img2dcm, dcmcjpls, dcmcrle …) and return the file it wrote.

    Skipped when dcmtk is absent (Debian package ``dcmtk``): these files come from a writer
    other than pydicom, which is the point of the tests that use them.
    """
    if shutil.which("img2dcm") is None:
        pytest.skip("dcmtk's img2dcm is not installed (apt-get install dcmtk)")
    count = iter(range(10_000))

    def run(tool: str, source: Path, *options: str) -> Path:
        target = tmp_path / f"{tool}{next(count)}.dcm"
        subprocess.run([tool, *options, str(source), str(target)], check=True, capture_output=True)
        return target

    return run

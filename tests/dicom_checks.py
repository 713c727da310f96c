"""DICOM test helpers shared by the engine's and the clinic's tests: a phantom hand film as a DICOM
DX (or CR) file, and ``dciodvfy`` (Debian's dicom3tools) as the judge of an object's validity."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pydicom.uid import ComputedRadiographyImageStorage, generate_uid

from tests.boneage.radiograph_files import dicom_bytes


def phantom_hand_dicom(
    *, seed: int = 3, age_months: float = 120.0, sex: str = "F", **tags: object
) -> bytes:
    """A phantom hand radiograph (``boneage.phantom``) as a 16-bit DX file of one
    patient and study; ``tags`` add or replace header attributes (``Modality="CR"`` makes it a
    CR image)."""
    from boneage.phantom import generate_phantom

    phantom = generate_phantom(seed, age_months=age_months, sex=sex)
    stored = np.clip(phantom.image * 4095.0, 0, 4095).astype(np.uint16)
    header: dict[str, object] = {
        "PatientID": f"P{seed}",
        "PatientName": "Doe^Jane",
        "PatientSex": sex,
        "PatientBirthDate": "20150101",
        "StudyDate": "20250101",
        "StudyTime": "101500",
        "AccessionNumber": f"ACC{seed}",
        "StudyInstanceUID": generate_uid(),
        "SeriesInstanceUID": generate_uid(),
        "StudyID": "1",
        "SeriesNumber": 1,
        "InstanceNumber": 1,
        "BodyPartExamined": "HAND",
        "ReferringPhysicianName": "",
    }
    header |= tags
    if header.get("Modality") == "CR":
        header.setdefault("SOPClassUID", ComputedRadiographyImageStorage)
    return dicom_bytes(stored, **header)


def dciodvfy_errors(path: Path) -> list[str]:
    """The "Error" lines ``dciodvfy`` reports for the file (an empty list: valid)."""
    if shutil.which("dciodvfy") is None:
        pytest.fail("dciodvfy is missing: install Debian's dicom3tools (make system-deps)")
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]

"""The one image type every reader returns.

Readers differ (PNG, JPEG, DICOM); what the rest of the engine sees does not. The pixels are
already in display orientation (bone bright), and every change made to get there is listed in
``handling`` so that a report can state it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np


@dataclass(frozen=True)
class PatientIdentity:
    """Who and which examination a file names (DICOM PatientID, PatientName, AccessionNumber,
    StudyInstanceUID, SOPInstanceUID); empty strings when it does not. Protected health
    information: shown to the institution that uploaded the film, never logged."""

    patient_id: str = ""
    patient_name: str = ""
    accession_number: str = ""
    study_instance_uid: str = ""
    sop_instance_uid: str = ""


@dataclass(frozen=True)
class Radiograph:
    """A decoded radiograph and what its file said about the patient and the acquisition.

    ``pixels`` is float32 of shape (H, W) in 0..1 with bone bright. ``spacing_mm`` is the
    (row, column) pixel spacing in millimetres, ``None`` when the format does not carry it
    (PNG, JPEG). ``age_months`` is the chronological age at the study, from DICOM tags.
    """

    pixels: np.ndarray
    source_format: str
    bit_depth: int
    spacing_mm: tuple[float, float] | None = None
    spacing_source: str | None = None
    sex: str | None = None
    age_months: float | None = None
    birth_date: date | None = None
    study_date: date | None = None
    laterality: str | None = None
    handling: tuple[str, ...] = ()
    identity: PatientIdentity = PatientIdentity()

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) in pixels."""
        return (int(self.pixels.shape[0]), int(self.pixels.shape[1]))

    def preview(self, max_side: int = 1024) -> np.ndarray:
        """The film as a browser shows it: 8-bit greyscale, bone bright, at most ``max_side``
        pixels on its longer side. A reviewer sees the image as read, before any quality
        correction, and a DICOM original cannot be shown by a browser at all."""
        from PIL import Image

        image = Image.fromarray(np.round(np.clip(self.pixels, 0, 1) * 255).astype(np.uint8))
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        return np.asarray(image)

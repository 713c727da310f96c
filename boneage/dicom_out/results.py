"""What the DICOM results are made from: one assessment, its images, and the signature if any.

Typed input, so that the command line and the clinic build the same objects from the same facts:
the assessment is the engine's contract (:class:`boneage.contract.AssessmentRecord`), the
signature a plain record of who signed what (the clinic's reviews, reduced to what a report
carries).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from boneage.contract import AssessmentRecord, Reading


@dataclass(frozen=True)
class Signature:
    """A radiologist's reading of record: the bone age signed and by whom.

    ``method`` is the estimate accepted as shown (``multistep`` or ``endtoend``), None when the
    bone age was corrected (then ``reason`` says why)."""

    observer_name: str
    signed_at: datetime
    bone_age_months: float
    method: str | None = None
    reason: str = ""
    organization: str = ""
    reading: Reading | None = None
    """The signed bone age read against the chronological age, when one is known."""


@dataclass(frozen=True)
class DicomResult:
    """One assessment to write as a structured report and a secondary capture.

    ``overlay`` is the RGB uint8 image a clinician checks the estimate against (the engine's
    overlay), ``radiograph`` the film as 8-bit greyscale (the preview) drawn when there is no
    overlay; either may be None, not both."""

    record: AssessmentRecord
    overlay: np.ndarray | None = None
    radiograph: np.ndarray | None = None
    signature: Signature | None = None
    institution_name: str = ""

    @property
    def signed(self) -> bool:
        return self.signature is not None

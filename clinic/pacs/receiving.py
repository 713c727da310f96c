"""A film received over DICOM becomes a study exactly as an upload does, or is refused in words.

Both doors (the C-STORE listener and the STOW-RS endpoint) call :func:`receive`: it checks that
the instance is a hand radiograph this clinic assesses, then hands its Part 10 bytes to
``clinic.services.study_submit`` as the caller's account, so that the tags fill the patient,
accession, sex and dates, the Study and SOP Instance UIDs are kept, and the same instance sent
twice is one study (``study_submit`` finds the repeat by its SOP Instance UID). Anything else is
:class:`Refused`, with the reason a PACS administrator reads in the C-STORE ErrorComment or the
STOW-RS reply, and nothing is stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from boneage.errors import BoneAgeError
from clinic import services

logger = logging.getLogger(__name__)

MODALITIES = {"DX", "CR"}
BODY_PARTS = {"HAND", ""}
"""BodyPartExamined values accepted: HAND, or none (many hand films leave it empty)."""

PROCESSING_FAILURE = 0x0110
"""C-STORE status "processing failure" (PS3.7 C.4.2.1.4): the film was read and refused."""
CANNOT_UNDERSTAND = 0xC000
"""C-STORE status "cannot understand" (PS3.4 B.2.3): not an object this clinic assesses."""


class Refused(Exception):
    """An instance not taken, with the reason in words and the C-STORE status that says it."""

    def __init__(self, reason: str, *, comment: str = "", status: int = CANNOT_UNDERSTAND) -> None:
        super().__init__(reason)
        self.reason = reason
        self.comment = (comment or reason)[:64]
        """The reason in the 64 characters of a C-STORE ErrorComment (LO)."""
        self.status = status


@dataclass(frozen=True)
class Received:
    study: Any
    created: bool


def check_hand_radiograph(dataset: Dataset) -> None:
    """Refuse what is not one hand radiograph with pixels: an SR or other non-image, another
    modality or body part, a multi-frame object, an image without pixel data."""
    modality = str(dataset.get("Modality", "")).upper()
    if modality == "SR" or "ContentSequence" in dataset:
        raise Refused(
            "This is a structured report (SR), not a radiograph: only hand radiographs (DX or CR) "
            "are assessed; nothing was stored.",
            comment="refused: an SR; only hand radiographs (DX, CR)",
        )
    if modality not in MODALITIES:
        raise Refused(
            f"The modality is {modality or 'not given'}: only hand radiographs (DX or CR) are "
            "assessed; nothing was stored.",
            comment=f"refused: modality {modality or 'none'}; only DX or CR",
        )
    body_part = str(dataset.get("BodyPartExamined", "") or "").strip().upper()
    if body_part not in BODY_PARTS:
        raise Refused(
            f"The body part examined is {body_part}: only hand radiographs (HAND, or none given) "
            "are assessed; nothing was stored.",
            comment=f"refused: body part {body_part}; only HAND",
        )
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise Refused(
            f"This object holds {frames} frames: send the one hand radiograph as a single-frame "
            "image; nothing was stored.",
            comment=f"refused: {frames} frames; one hand radiograph only",
        )
    if "PixelData" not in dataset:
        raise Refused(
            "This image holds no pixel data (it may have been cut off in transfer); nothing was "
            "stored.",
            comment="refused: no pixel data",
        )


def part10_bytes(dataset: Dataset, *, transfer_syntax: str | None = None) -> bytes:
    """The instance as a DICOM file, with the file meta a received data set lacks."""
    if not getattr(dataset, "file_meta", None):
        dataset.file_meta = FileMetaDataset()
    meta = dataset.file_meta
    meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    if transfer_syntax or "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = transfer_syntax or ExplicitVRLittleEndian
    buffer = BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def receive(*, dataset: Dataset, user: AbstractBaseUser, data: bytes | None = None) -> Received:
    """File ``dataset`` (or its Part 10 ``data``, when the caller has them) as a study of
    ``user``'s institution; :class:`Refused` says why not. Never logs patient data."""
    check_hand_radiograph(dataset)
    data = data if data is not None else part10_bytes(dataset)
    name = f"{dataset.SOPInstanceUID}.dcm"
    try:
        submission = services.study_submit(user=user, file=ContentFile(data, name=name))
    except BoneAgeError as error:
        raise Refused(f"{error} Nothing was stored.", status=PROCESSING_FAILURE) from error
    except PermissionDenied as error:
        raise Refused("The sender's account belongs to no institution.") from error
    logger.info(
        "dicom instance received study=%s created=%s", submission.study.pk, submission.created
    )
    return Received(study=submission.study, created=submission.created)

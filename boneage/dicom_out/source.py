"""What the results keep of the film they were made from.

A DICOM source gives its study: the results join it (the same Study Instance UID, the patient and
study modules copied), and the SR references the source image by its SOP Class and Instance UID.
A PNG or JPEG carries no study, so the results start a new one (:func:`new_study`, ``joined``
False) and say so: a PACS files them as a study of their own, with only the patient facts given.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

PATIENT_STUDY_KEYWORDS = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyDescription",
)
"""The Patient and General Study module attributes the results copy from their source."""

IMAGE_KEYWORDS = (
    "SOPClassUID",
    "SOPInstanceUID",
    "Modality",
    "Rows",
    "Columns",
    "BodyPartExamined",
    "ImageLaterality",
    "Laterality",
    "PatientOrientation",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "ContentDate",
    "ContentTime",
    "ViewPosition",
)
"""What the SR's image library entry describes the source image by (TID 1602)."""


@dataclass(frozen=True)
class SourceStudy:
    """The study the results belong to and the image they reference (None for a new study).

    ``header`` holds the patient and study attributes to copy into every result, ``image`` the
    source image's identifying attributes (the evidence the SR records), ``joined`` whether the
    study is the source's own."""

    header: Dataset
    image: Dataset | None
    joined: bool

    @property
    def study_instance_uid(self) -> str:
        return str(self.header.StudyInstanceUID)


def from_dicom(data: bytes) -> SourceStudy:
    """The study of a DICOM source, read from its header (the pixels are not decoded)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        source = pydicom.dcmread(BytesIO(data), stop_before_pixels=True, force=True)
    header = Dataset()
    for keyword in PATIENT_STUDY_KEYWORDS:
        if keyword in source:
            setattr(header, keyword, source[keyword].value)
    if not header.get("StudyInstanceUID"):
        header.StudyInstanceUID = generate_uid()
    image = Dataset()
    for keyword in (*PATIENT_STUDY_KEYWORDS, *IMAGE_KEYWORDS):
        if keyword in header or keyword in source:
            setattr(image, keyword, header.get(keyword, source.get(keyword)))
    image.SeriesInstanceUID = source.get("SeriesInstanceUID") or generate_uid()
    return SourceStudy(header=header, image=image, joined=True)


def new_study(
    *,
    sex: str | None,
    patient_id: str = "",
    patient_name: str = "",
    birth_date: date | None = None,
    accession_number: str = "",
    study_instance_uid: str = "",
    now: datetime | None = None,
) -> SourceStudy:
    """A new study for a source without one (PNG, JPEG): the facts given, a new Study Instance
    UID unless one is given, dated now."""
    now = now or datetime.now()
    header = Dataset()
    header.PatientName = patient_name.replace(", ", "^")
    header.PatientID = patient_id
    header.PatientBirthDate = birth_date.strftime("%Y%m%d") if birth_date else ""
    header.PatientSex = sex or ""
    header.StudyInstanceUID = study_instance_uid or generate_uid()
    header.StudyDate = now.strftime("%Y%m%d")
    header.StudyTime = now.strftime("%H%M%S")
    header.StudyID = ""
    header.AccessionNumber = accession_number
    header.ReferringPhysicianName = ""
    return SourceStudy(header=header, image=None, joined=False)

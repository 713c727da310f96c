"""DICOM radiographs through pydicom, header first.

The header is read with ``stop_before_pixels=True`` and Rows × Columns × frames is checked before
the pixel data is decoded (docs/standards.md, "DICOM in"). Pixels then go through the display
pipeline of PS3.4 N.2 with pydicom's own functions: Modality LUT or Rescale Slope/Intercept
(``apply_modality_lut``), VOI LUT or Window Center/Width (``apply_voi_lut``), and MONOCHROME1
inversion so that bone is bright. Compressed transfer syntaxes (JPEG, JPEG-LS, JPEG 2000, RLE)
are decoded by the pylibjpeg plugins; a syntax no installed decoder handles is refused by name.

Patient facts come from the header: PatientSex; age from PatientBirthDate and StudyDate (or
AcquisitionDate / SeriesDate) when both parse, else from PatientAge ("007Y", "084M", "010W",
"020D"); spacing from PixelSpacing (calibrated at the patient) before ImagerPixelSpacing (at the
detector, PS3.3 C.8.11.4); laterality from ImageLaterality before the series' Laterality.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, get_decoder
from pydicom.uid import ImplicitVRLittleEndian
from skimage.color import rgb2gray

from boneage.errors import (
    CorruptImage,
    MultiFrameImage,
    NoPixelData,
    UnsupportedFormat,
    technical_detail,
)
from boneage.io.limits import Limits, check_dimensions
from boneage.radiograph import PatientIdentity, Radiograph

DAYS_PER_MONTH = 365.2425 / 12
"""Mean Gregorian month in days, for ages computed from dates."""

_AGE_UNIT_MONTHS = {"D": 1 / DAYS_PER_MONTH, "W": 7 / DAYS_PER_MONTH, "M": 1.0, "Y": 12.0}
_NO_IMAGE = (
    "This DICOM file holds no image (it may be a report, a structured document or a header only)."
)
_PIXEL_TAGS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_VALUE_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    NotImplementedError,
    RuntimeError,
    BytesLengthException,
)
"""What pydicom raises when a damaged value is converted on first access."""


@dataclass(frozen=True)
class DicomFacts:
    """What a DICOM header says about the patient and the geometry, each ``None`` when absent."""

    sex: str | None
    age_months: float | None
    birth_date: date | None
    study_date: date | None
    laterality: str | None
    spacing_mm: tuple[float, float] | None
    spacing_source: str | None
    identity: PatientIdentity = PatientIdentity()


def _text(header: Dataset, keyword: str) -> str:
    return str(header.get(keyword, "") or "").strip()


def _person_name(header: Dataset) -> str:
    """PatientName as "Family, Given" (DICOM writes Family^Given^Middle^Prefix^Suffix)."""
    parts = [p.strip() for p in _text(header, "PatientName").split("^")]
    family, given = (parts + ["", ""])[:2]
    return ", ".join(p for p in (family, " ".join(filter(None, [given, *parts[2:3]]))) if p)


def read_header(source: bytes | Path) -> Dataset:
    """The data set without its pixel data, from bytes or a file; forced, for files without the
    Part 10 preamble. pydicom's warnings about malformed values are silenced."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            target = BytesIO(source) if isinstance(source, bytes) else source
            return pydicom.dcmread(target, stop_before_pixels=True, force=True)
    except Exception as error:  # pydicom's parser raises many types on damaged bytes
        raise CorruptImage(
            f"The DICOM header is damaged and cannot be read ({technical_detail(error)})."
        ) from error


def header_facts(header: Dataset) -> DicomFacts:
    """Sex, age, dates, laterality and pixel spacing from a header (see the module docstring)."""
    birth = _parse_date(header.get("PatientBirthDate"))
    study = next(
        (
            parsed
            for parsed in (
                _parse_date(header.get(k)) for k in ("StudyDate", "AcquisitionDate", "SeriesDate")
            )
            if parsed is not None
        ),
        None,
    )
    if birth is not None and study is not None and study >= birth:
        age_months: float | None = (study - birth).days / DAYS_PER_MONTH
    else:
        age_months = parse_age_string(str(header.get("PatientAge", "") or ""))
    spacing, source = _spacing(header)
    sex = str(header.get("PatientSex", "") or "").strip().upper()
    return DicomFacts(
        sex=sex if sex in ("F", "M") else None,
        age_months=age_months,
        birth_date=birth,
        study_date=study,
        laterality=_laterality(header),
        spacing_mm=spacing,
        spacing_source=source,
        identity=PatientIdentity(
            patient_id=_text(header, "PatientID"),
            patient_name=_person_name(header),
            accession_number=_text(header, "AccessionNumber"),
            study_instance_uid=_text(header, "StudyInstanceUID"),
            sop_instance_uid=_text(header, "SOPInstanceUID"),
        ),
    )


def parse_age_string(value: str) -> float | None:
    """Months from a DICOM Age String (PS3.5 Table 6.2-1: nnnD, nnnW, nnnM or nnnY)."""
    value = value.strip().upper()
    if len(value) < 2 or value[-1] not in _AGE_UNIT_MONTHS or not value[:-1].isdigit():
        return None
    return int(value[:-1]) * _AGE_UNIT_MONTHS[value[-1]]


def read_dicom_facts(data: bytes, limits: Limits) -> DicomFacts:
    """What the header says, with the image's dimensions checked, its pixel data never read:
    for showing a file's tags before it is uploaded."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        header = _image_header(data, limits)
        try:
            return header_facts(header)
        except _VALUE_ERRORS as error:
            raise CorruptImage(
                f"The DICOM header holds damaged values ({technical_detail(error)})."
            ) from error


def _image_header(data: bytes, limits: Limits) -> Dataset:
    """The header of a single-frame image within ``limits``, else the typed error."""
    header = read_header(data)
    rows, columns, frames = _dimensions(header)
    check_dimensions(rows, columns, limits, frames=frames)
    if frames > 1:
        raise MultiFrameImage(
            f"This DICOM file holds {frames} images; send the one hand radiograph on its own."
        )
    return header


def read_dicom(data: bytes, limits: Limits) -> Radiograph:
    """Decode a single-frame DICOM radiograph into a :class:`Radiograph`.

    pydicom's warnings about malformed values are silenced here: a value that matters either
    works or ends in a typed error.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _image_header(data, limits)
        dataset = _read_full(data)
        if not any(tag in dataset for tag in _PIXEL_TAGS):
            raise NoPixelData(
                "This DICOM file describes an image but holds no pixel data; it may have been"
                " cut off in transfer."
            )
        array = _decode(dataset)
        try:
            pixels, handling = _display_values(array, dataset)
            facts = header_facts(dataset)
            bit_depth = int(dataset.get("BitsStored", 0) or dataset.get("BitsAllocated", 0) or 0)
        except _VALUE_ERRORS as error:
            raise CorruptImage(
                "The DICOM header holds damaged display values; the image cannot be shown"
                f" reliably ({technical_detail(error)})."
            ) from error
    return Radiograph(
        pixels=pixels.astype(np.float32),
        source_format="DICOM",
        bit_depth=bit_depth,
        spacing_mm=facts.spacing_mm,
        spacing_source=facts.spacing_source,
        sex=facts.sex,
        age_months=facts.age_months,
        birth_date=facts.birth_date,
        study_date=facts.study_date,
        laterality=facts.laterality,
        handling=handling,
        identity=facts.identity,
    )


def _dimensions(header: Dataset) -> tuple[int, int, int]:
    """Rows, columns and frames from a header that must describe an image."""
    if "SOPClassUID" not in header and "Rows" not in header:
        raise CorruptImage(
            "The file is marked as DICOM but its header is empty or damaged; it cannot be read."
        )
    if "Rows" not in header:
        raise NoPixelData(_NO_IMAGE)
    try:
        rows, columns = int(header.get("Rows", 0) or 0), int(header.get("Columns", 0) or 0)
        frames = int(header.get("NumberOfFrames", 1) or 1)
    except _VALUE_ERRORS as error:
        raise CorruptImage(
            f"The DICOM image dimensions are damaged ({technical_detail(error)})."
        ) from error
    return rows, columns, frames


def _read_full(data: bytes) -> Dataset:
    """The whole data set, with a transfer syntax filled in for preamble-less files."""
    try:
        dataset = pydicom.dcmread(BytesIO(data), force=True)
    except Exception as error:  # pydicom's parser raises many types on damaged bytes
        raise CorruptImage(
            f"The DICOM file is damaged and cannot be read ({technical_detail(error)})."
        ) from error
    if "TransferSyntaxUID" not in dataset.file_meta:
        dataset.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    return dataset


def _decode(dataset: Dataset) -> np.ndarray:
    """Stored pixel values; an unknown compression is refused by name, damage as corruption."""
    syntax = dataset.file_meta.TransferSyntaxUID
    try:
        available = get_decoder(syntax).is_available
    except NotImplementedError:
        available = False
    if not available:
        raise UnsupportedFormat(
            f"The DICOM image is compressed as '{syntax.name}', which this installation cannot"
            " decode; export it uncompressed or as JPEG, JPEG-LS, JPEG 2000 or RLE."
        )
    try:
        array = dataset.pixel_array
    except Exception as error:  # decoders raise many types for damaged data
        raise CorruptImage(
            "The DICOM pixel data is truncated or damaged and cannot be decoded"
            f" ({technical_detail(error)})."
        ) from error
    return np.asarray(array)


def _display_values(array: np.ndarray, dataset: Dataset) -> tuple[np.ndarray, tuple[str, ...]]:
    """Stored values to 0..1 with bone bright, following PS3.4 N.2; every step named."""
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    handling: list[str] = []
    if photometric == "PALETTE COLOR":
        array = apply_color_lut(array, dataset)
        handling.append("palette colours expanded")
    if array.ndim == 3:
        peak = float(np.iinfo(array.dtype).max) if array.dtype.kind in "ui" else 1.0
        handling.append(f"{photometric} colour reduced to luminance")
        return rgb2gray(array.astype(np.float64) / peak), tuple(handling)
    values = apply_modality_lut(array, dataset).astype(np.float64)
    if "ModalityLUTSequence" in dataset:
        handling.append("Modality LUT applied")
    elif "RescaleSlope" in dataset or "RescaleIntercept" in dataset:
        handling.append(
            f"Rescale Slope {float(dataset.get('RescaleSlope', 1)):g} and Intercept"
            f" {float(dataset.get('RescaleIntercept', 0)):g} applied"
        )
    windowed, low, high, words = _apply_voi(values, dataset)
    handling.append(words)
    if high > low:
        pixels = np.clip((windowed - low) / (high - low), 0.0, 1.0)
    else:
        pixels = np.zeros_like(values)
    if photometric == "MONOCHROME1":
        pixels = 1.0 - pixels
        handling.append("MONOCHROME1 inverted so that bone is bright")
    return pixels, tuple(handling)


def _apply_voi(values: np.ndarray, dataset: Dataset) -> tuple[np.ndarray, float, float, str]:
    """The VOI transform and its output range, which maps to 0..1; without one, the data's own.

    The output range is found by passing the extremes through pydicom's own transform, so it
    follows pydicom's conventions (PS3.3 C.11.2.1.2) rather than a copy of them.
    """
    if dataset.get("VOILUTSequence"):
        first_entries, first_mapped = dataset.VOILUTSequence[0].LUTDescriptor[:2]
        entries = np.arange(first_mapped, first_mapped + (first_entries or 2**16))
        outputs = apply_voi_lut(entries, dataset)
        windowed = apply_voi_lut(np.rint(values).astype(np.int64), dataset)
        return windowed, float(outputs.min()), float(outputs.max()), "VOI LUT applied"
    if "WindowCenter" in dataset and "WindowWidth" in dataset:
        try:
            windowed = apply_voi_lut(values, dataset)
            low, high = sorted(apply_voi_lut(np.array([-(2.0**40), 2.0**40]), dataset))
        except ValueError:
            pass
        else:
            center, width = dataset.WindowCenter, dataset.WindowWidth
            center = center[0] if isinstance(center, MultiValue) else center
            width = width[0] if isinstance(width, MultiValue) else width
            words = f"window centre {float(center):g}, width {float(width):g} applied"
            return windowed, float(low), float(high), words
    words = "no usable window in the file: scaled from its darkest to its brightest value"
    return values, float(values.min()), float(values.max()), words


def _spacing(header: Dataset) -> tuple[tuple[float, float] | None, str | None]:
    """(row, column) spacing in mm and the tag it came from; positive values only."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = header.get(keyword)
        try:
            row, column = (float(v) for v in value)
        except (TypeError, ValueError):
            continue
        if row > 0 and column > 0:
            return (row, column), keyword
    return None, None


def _laterality(header: Dataset) -> str | None:
    """ "L" or "R" from ImageLaterality, else the series' Laterality; anything else is None."""
    for keyword in ("ImageLaterality", "Laterality"):
        value = str(header.get(keyword, "") or "").strip().upper()
        if value in ("L", "R"):
            return value
    return None


def _parse_date(value: object) -> date | None:
    """A DICOM DA value (YYYYMMDD) as a date, ``None`` when absent or malformed."""
    text = str(value or "").strip()
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None

"""The secondary capture: what the radiologist sees in the PACS viewer beside the film.

The overlay (or, without one, the film) with the key figures burnt in below it, in a font large
enough to read at the viewer's fit-to-screen size, and until the report is signed the warning
:data:`UNSIGNED_WARNING` in red. Written with highdicom's ``SCImage`` as an RGB image of 8 bits,
in the source's study, so that the PACS files it with the film.
"""

from __future__ import annotations

from datetime import datetime

import highdicom as hd
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset

from boneage.dicom_out.results import DicomResult
from boneage.dicom_out.source import SourceStudy
from boneage.dicom_out.summary import key_figures

UNSIGNED_WARNING = "NOT FOR DIAGNOSIS WITHOUT REVIEW"
MIN_WIDTH_PX = 1024
"""The narrowest image drawn: an overlay smaller than this is enlarged, so that the text is a
usable fraction of the image at any viewer zoom."""
MANUFACTURER = "boneage"


def render_sc_pixels(result: DicomResult) -> np.ndarray:
    """RGB uint8 (H, W, 3): the overlay or film on top, the figures in a panel beneath."""
    picture = result.overlay if result.overlay is not None else result.radiograph
    if picture is None:
        raise ValueError("a secondary capture needs the overlay or the radiograph")
    image = Image.fromarray(np.asarray(picture, dtype=np.uint8)).convert("RGB")
    if image.width < MIN_WIDTH_PX:
        scale = MIN_WIDTH_PX / image.width
        image = image.resize((MIN_WIDTH_PX, round(image.height * scale)), Image.Resampling.LANCZOS)
    size = max(18, image.width // 40)
    font = ImageFont.load_default(size=size)
    lines = key_figures(result)
    warning = [] if result.signed else [UNSIGNED_WARNING]
    line_px = round(size * 1.4)
    panel_px = line_px * (len(lines) + len(warning)) + size
    canvas = Image.new("RGB", (image.width, image.height + panel_px), (0, 0, 0))
    canvas.paste(image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = image.height + size // 2
    for text in warning:
        draw.text((size, y), text, fill=(255, 60, 60), font=font)
        y += line_px
    for text in lines:
        draw.text((size, y), text, fill=(255, 255, 255), font=font)
        y += line_px
    if warning:  # on the picture too, where a viewer that crops the panel still shows it
        draw.text((size, size // 2), UNSIGNED_WARNING, fill=(255, 60, 60), font=font,
                  stroke_width=2, stroke_fill=(0, 0, 0))  # fmt: skip
    return np.asarray(canvas, dtype=np.uint8)


def build_sc(
    result: DicomResult,
    source: SourceStudy,
    *,
    series_instance_uid: str,
    sop_instance_uid: str,
    series_number: int = 901,
    now: datetime | None = None,
) -> hd.sc.SCImage:
    """The secondary capture of ``result`` in ``source``'s study."""
    header = source.header
    now = now or datetime.now()
    sc = hd.sc.SCImage(
        pixel_array=render_sc_pixels(result),
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        study_instance_uid=source.study_instance_uid,
        series_instance_uid=series_instance_uid,
        series_number=series_number,
        sop_instance_uid=sop_instance_uid,
        instance_number=1,
        manufacturer=MANUFACTURER,
        patient_id=str(header.get("PatientID", "")),
        patient_name=str(header.get("PatientName", "")),
        patient_birth_date=str(header.get("PatientBirthDate", "")) or None,
        patient_sex=str(header.get("PatientSex", "")) or None,
        accession_number=str(header.get("AccessionNumber", "")),
        study_id=str(header.get("StudyID", "")),
        study_date=str(header.get("StudyDate", "")) or now.date(),
        study_time=str(header.get("StudyTime", "")) or now.time(),
        referring_physician_name=str(header.get("ReferringPhysicianName", "")),
        patient_orientation=("L", "F"),
    )
    sc.SeriesDescription = "Bone age overlay" + ("" if result.signed else " (unsigned)")
    sc.ContentDate, sc.ContentTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    sc.BurnedInAnnotation = "YES"
    laterality = result.record.input.laterality
    sc.Laterality = laterality if laterality in {"L", "R"} else ""
    if result.institution_name:
        sc.InstitutionName = result.institution_name
    if source.image is not None:
        item = Dataset()
        item.ReferencedSOPClassUID = source.image.SOPClassUID
        item.ReferencedSOPInstanceUID = source.image.SOPInstanceUID
        sc.SourceImageSequence = [item]
    return sc

"""``boneage info FILE``: what the reader made of a file, or why it refused it.

The same reader as an assessment (:func:`boneage.io.read_radiograph`), so what this prints is
what an assessment would start from. A refusal is one line and exit code 2 (the dispatcher turns
the typed error into words).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from boneage.radiograph import Radiograph


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="show what is read from a radiograph file")
    parser.add_argument("file", type=Path, help="PNG, JPEG or DICOM file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_info)


def _info(args: argparse.Namespace) -> int:
    from boneage.io import read_radiograph

    radiograph = read_radiograph(args.file)
    summary = describe(radiograph)
    if args.json:
        print(json.dumps({"file": str(args.file), **summary}, indent=2))
        return 0
    rows, columns = radiograph.shape
    print(f"file        {args.file}")
    print(f"format      {radiograph.source_format}, {radiograph.bit_depth}-bit stored")
    print(f"size        {columns} × {rows} pixels (width × height)")
    print(f"spacing     {_spacing_words(radiograph)}")
    print(f"sex         {radiograph.sex or 'not in the file'}")
    print(f"age         {_age_words(radiograph)}")
    print(f"laterality  {radiograph.laterality or 'not in the file'}")
    print(f"handling    {'; '.join(radiograph.handling) or 'none (stored values scaled to 0..1)'}")
    return 0


def describe(radiograph: Radiograph) -> dict[str, Any]:
    """Everything read from the file except the pixels, as JSON-ready values."""
    rows, columns = radiograph.shape
    return {
        "source_format": radiograph.source_format,
        "bit_depth": radiograph.bit_depth,
        "rows": rows,
        "columns": columns,
        "spacing_mm": list(radiograph.spacing_mm) if radiograph.spacing_mm else None,
        "spacing_source": radiograph.spacing_source,
        "sex": radiograph.sex,
        "age_months": radiograph.age_months,
        "age_source": _age_source(radiograph),
        "birth_date": radiograph.birth_date.isoformat() if radiograph.birth_date else None,
        "study_date": radiograph.study_date.isoformat() if radiograph.study_date else None,
        "laterality": radiograph.laterality,
        "handling": list(radiograph.handling),
    }


def _spacing_words(radiograph: Radiograph) -> str:
    if radiograph.spacing_mm is None:
        if radiograph.source_format == "DICOM":
            return "unknown (no PixelSpacing or ImagerPixelSpacing in the file)"
        return f"unknown ({radiograph.source_format} files carry no pixel spacing)"
    row, column = radiograph.spacing_mm
    return f"{row:g} × {column:g} mm per pixel (row × column, from {radiograph.spacing_source})"


def _age_source(radiograph: Radiograph) -> str | None:
    if radiograph.age_months is None:
        return None
    if radiograph.birth_date is not None and radiograph.study_date is not None:
        return "PatientBirthDate and StudyDate"
    return "PatientAge"


def _age_words(radiograph: Radiograph) -> str:
    if radiograph.age_months is None:
        return "not in the file"
    years, months = divmod(radiograph.age_months, 12.0)
    return (
        f"{radiograph.age_months:.1f} months ({int(years)} y {months:.0f} m),"
        f" from {_age_source(radiograph)}"
    )

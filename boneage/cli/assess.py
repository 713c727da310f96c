"""``boneage assess FILE``: both estimates for one radiograph, as text or as the JSON contract, and
on request as DICOM: a structured report (``--sr``) and a secondary capture (``--sc``). From a
DICOM film they join its study; a PNG or JPEG has none, so they start a new one, and say so."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from PIL import Image


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("assess", help="estimate bone age from one radiograph")
    parser.add_argument("file", type=Path, help="PNG, JPEG or DICOM hand radiograph")
    parser.add_argument("--sex", choices=["F", "M"], help="needed unless the DICOM tags say")
    parser.add_argument("--chronological-age-months", type=float, metavar="N")
    parser.add_argument("--json", action="store_true", help="print the assessment as JSON")
    parser.add_argument("--models", type=Path, help="model folder (default: the demo models)")
    parser.add_argument("--overlay", type=Path, metavar="PNG", help="write the overlay image")
    parser.add_argument("--sr", type=Path, metavar="DCM", help="write the DICOM structured report")
    parser.add_argument("--sc", type=Path, metavar="DCM", help="write the DICOM secondary capture")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from boneage.assess import assess
    from boneage.io import read_radiograph
    from boneage.registry import load_models

    radiograph = read_radiograph(args.file)
    assessment = assess(
        radiograph,
        models=load_models(args.models),
        sex=args.sex,
        chronological_age_months=args.chronological_age_months,
    )
    if args.overlay and assessment.overlay is not None:
        Image.fromarray(assessment.overlay).save(args.overlay)
    result = assessment.to_dict()
    print(json.dumps(result, indent=2) if args.json else _text(result))
    if args.sr or args.sc:
        _write_dicom(args, radiograph, assessment)
    return 0


def _write_dicom(args: argparse.Namespace, radiograph: Any, assessment: Any) -> None:
    """The SR and SC of the assessment, in the film's study or in a new one (said on stderr)."""
    from boneage.dicom_out import DicomResult, build_results, from_dicom, new_study

    if radiograph.source_format == "DICOM":
        source = from_dicom(args.file.read_bytes())
    else:
        source = new_study(sex=assessment.record.input.sex)
        print(
            f"{args.file.name} is a {radiograph.source_format}, which belongs to no DICOM study: "
            f"the results start a new study, Study Instance UID {source.study_instance_uid}.",
            file=sys.stderr,
        )
    result = DicomResult(
        record=assessment.record, overlay=assessment.overlay, radiograph=radiograph.preview()
    )
    sr, sc = build_results(result, source)
    for path, dataset, what in ((args.sr, sr, "structured report"), (args.sc, sc, "capture")):
        if path:
            dataset.save_as(path, enforce_file_format=True)
            print(f"wrote the {what} to {path}", file=sys.stderr)


def _text(result: dict[str, Any]) -> str:
    lines = [f"sex {result['input']['sex']} ({result['input']['sex_source']})"]
    for key, title in (("multistep", "Multi-step"), ("endtoend", "End-to-end")):
        estimate = result[key]
        if "rejected" in estimate:
            lines.append(f"{title}: rejected: {estimate['rejected']}")
            continue
        low, high = estimate["interval_months"]
        lines.append(
            f"{title}: {estimate['age_months']:.1f} months (90% interval {low:.1f}–{high:.1f})"
        )
        lines.append(f"  {estimate['note']}")
    agreement = result["agreement"]
    flag = " — flagged for review" if agreement["flag_for_review"] else ""
    lines.append(f"Agreement: {agreement['reason']}{flag}")
    if "chronological" in result and "sds" in result["chronological"]:
        c = result["chronological"]
        lines.append(
            f"Against chronological age {c['age_months']:.0f} months: "
            f"{c['difference_months']:+.1f} months, SDS {c['sds']:+.2f} ({c['category']})"
        )
    for correction in result["quality"]["corrections"]:
        lines.append(f"Correction: {correction}")
    return "\n".join(lines)

"""DICOM results of an assessment: a TID 1500 structured report and a secondary capture.

The objects a PACS files beside the film (IHE AI Results): :func:`build_results` writes both for
one :class:`DicomResult` in the :class:`SourceStudy` they belong to, in two new series of that
study (an SR series and an image series: one modality per series). The clinic passes the UIDs of
a delivery so that sending it again replaces, never duplicates, what the PACS holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

import highdicom as hd
from pydicom.uid import generate_uid

from boneage.dicom_out.results import DicomResult, Signature
from boneage.dicom_out.sc import UNSIGNED_WARNING, build_sc
from boneage.dicom_out.source import SourceStudy, from_dicom, new_study
from boneage.dicom_out.sr import build_sr

__all__ = [
    "UNSIGNED_WARNING",
    "DicomResult",
    "ResultUids",
    "Signature",
    "SourceStudy",
    "build_results",
    "from_dicom",
    "new_study",
]

DEVICE_UID = generate_uid(entropy_srcs=["boneage device observer"])
"""The algorithm's UID as a device observer: the same on every installation and version, so that a
report system can group its results."""


def software_version() -> str:
    try:
        return version("boneage")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


@dataclass(frozen=True)
class ResultUids:
    """The series and instance UIDs of one SR and one SC."""

    sr_series: str
    sr_instance: str
    sc_series: str
    sc_instance: str

    @classmethod
    def new(cls) -> ResultUids:
        return cls(generate_uid(), generate_uid(), generate_uid(), generate_uid())


def build_results(
    result: DicomResult,
    source: SourceStudy,
    *,
    uids: ResultUids | None = None,
    now: datetime | None = None,
) -> tuple[hd.sr.Comprehensive3DSR, hd.sc.SCImage]:
    """The SR and the SC of ``result``; the SR's evidence is the source image, or for a new
    study the SC (the only image of that study)."""
    uids = uids or ResultUids.new()
    now = now or datetime.now()
    sc = build_sc(
        result, source, series_instance_uid=uids.sc_series, sop_instance_uid=uids.sc_instance,
        now=now,
    )  # fmt: skip
    sr = build_sr(
        result,
        source,
        evidence=[source.image if source.image is not None else sc],
        series_instance_uid=uids.sr_series,
        sop_instance_uid=uids.sr_instance,
        device_uid=DEVICE_UID,
        software_version=software_version(),
        now=now,
    )
    return sr, sc

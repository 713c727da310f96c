"""The clinic's one door to the bone-age engine (``boneage``).

Every call the clinic makes into the engine goes through here: decoding an upload, loading the
models, assessing a film (with the chart and the browser preview stored beside the report),
reading a stored assessment back as the typed contract, reading a bone age against the
chronological age, and following one child across visits. The engine's modules are imported
inside the functions, so the web process starts without torch and only a worker that assesses
pays for loading it. The engine's error classes (``boneage.errors``) are shared vocabulary,
imported where they are caught.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from PIL import Image

if TYPE_CHECKING:
    from boneage.contract import AssessmentRecord
    from boneage.io import FileHeader
    from boneage.radiograph import Radiograph
    from boneage.registry import ModelBundle
    from boneage.report.chronological import ChronologicalComparison
    from boneage.report.visits import Velocity, Visit


def read_radiograph(data: bytes) -> Radiograph:
    """The decoded film and its tags; ``boneage.errors.InputError`` says what is wrong."""
    from boneage.io import read_radiograph as decode

    return decode(data)


def read_file_header(data: bytes) -> FileHeader:
    """What the file's header says (format, DICOM tags), its pixels never decoded: the web
    process shows a dropped file's tags this way, at the cost of a header."""
    from boneage.io import read_file_header as read_header

    return read_header(data)


def configured_models(threads: int | None = None) -> ModelBundle:
    """The engine's ``ModelBundle`` from ``BONEAGE_MODEL_DIR`` (default: the shipped models),
    on the GPU for a worker of the "gpu" queue, with torch limited to ``threads`` threads (a
    worker's children must not oversubscribe the cores). Call it in the process that will use
    it: loading onto the GPU initialises CUDA, which must not happen in a parent before a fork."""
    from boneage.registry import load_models

    if threads:
        import torch

        torch.set_num_threads(threads)

    device = "cuda" if settings.BONEAGE_DEVICE == "gpu" else "cpu"
    return load_models(settings.BONEAGE_MODEL_DIR, device=device)


@dataclass(frozen=True)
class AssessedFilm:
    """One film's assessment and the images stored beside it (PNG bytes)."""

    record: AssessmentRecord
    chart_png: bytes
    radiograph_png: bytes
    overlay_png: bytes | None
    seconds: dict[str, float]
    """Wall seconds of each stage: read, the engine's (:attr:`boneage.assess.Assessment.seconds`),
    chart, and images (the preview and overlay PNGs)."""


def assess_film(
    data: bytes, *, sex: str, chronological_age_months: float | None, models: ModelBundle
) -> AssessedFilm:
    """Assess the film in ``data``; raises the engine's ``BoneAgeError`` when it cannot."""
    from boneage.assess import assess
    from boneage.report.chart import render_chart

    clock = [time.perf_counter()]

    def lap() -> float:
        clock.append(time.perf_counter())
        return round(clock[-1] - clock[-2], 4)

    radiograph = read_radiograph(data)
    seconds = {"read": lap()}
    result = assess(
        radiograph, sex=sex, chronological_age_months=chronological_age_months, models=models
    )
    lap()  # the engine's time is given stage by stage, in result.seconds
    seconds |= result.seconds
    chart = render_chart(result.record)
    seconds["chart"] = lap()
    preview = _png(radiograph.preview())
    overlay = _png(result.overlay) if result.overlay is not None else None
    seconds["images"] = lap()
    return AssessedFilm(
        record=result.record,
        chart_png=chart,
        radiograph_png=preview,
        overlay_png=overlay,
        seconds=seconds,
    )


def read_assessment(data: dict[str, Any]) -> AssessmentRecord:
    """A stored assessment (``Report.assessment``) as the engine's typed record."""
    from boneage.contract import read_assessment as validate

    return validate(data)


def compare_ages(
    bone_age_months: float, chronological_age_months: float, sex: str
) -> ChronologicalComparison:
    """A bone age read against the chronological age: difference, SDS and category."""
    from boneage.report.chronological import compare

    return compare(bone_age_months, chronological_age_months, sex)


def normal_band(chronological_age_months: float, sex: str) -> tuple[float, float, float]:
    """(low, high, the SDS limit): bone ages within normal at this chronological age."""
    from boneage.report.chronological import SDS_LIMIT, bone_age_sd_months

    half_width = SDS_LIMIT * float(bone_age_sd_months(chronological_age_months, sex))
    low = max(chronological_age_months - half_width, 0.0)
    return low, chronological_age_months + half_width, SDS_LIMIT


def visit(
    label: str,
    chronological_age_months: float | None,
    assessment: dict[str, Any] | None,
    signed_months: float | None,
) -> Visit:
    """One study of a child as a visit: the estimates of the paths that answered in its stored
    assessment (none before it is done), and its signed bone age."""
    from boneage.report.visits import Visit, VisitEstimate

    estimates = {}
    if assessment is not None:
        for path, estimate in read_assessment(assessment).estimates().items():
            if estimate.answered:
                estimates[path] = VisitEstimate(estimate.age_months, estimate.interval_months)
    return Visit(label, chronological_age_months, estimates, signed_months)


def visit_velocities(visits: Sequence[Visit]) -> list[Velocity]:
    """Bone-age velocities between consecutive visits, each with its interval."""
    from boneage.report.visits import velocities

    return velocities(visits)


def visits_chart(visits: Sequence[Visit], sex: str) -> bytes:
    """PNG of a child's visits: bone age against chronological age."""
    from boneage.report.visits import render_visits_chart

    return render_visits_chart(visits, sex)


def _png(pixels: Any) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()

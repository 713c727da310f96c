"""The report as a PDF for the patient record (ReportLab), signed or marked preliminary.

What a record keeps must stand alone: the child's facts, every estimate with its interval and
its reading against chronological age, the standard the ages are equivalent to, the film as
assessed and its overlay, the chart across visits when there are several, and every signature
with its signer, time and institution (a later correction does not erase the earlier signature;
it is shown as superseded). A report no one has signed says so at its top, so that a printout
cannot pass for a signed one.

ReportLab draws the PDF from the same stored assessment the pages show; images come from the
report's stored files. The PDF is drawn on request, not stored: a later signature changes it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from django.http import HttpResponse
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from boneage import __version__
from clinic import engine
from clinic.errors import ReportNotReady
from clinic.models import Review, Study
from clinic.templatetags.clinic_format import method_name, years_months

if TYPE_CHECKING:
    from boneage.contract import AssessmentRecord, Estimate
    from clinic.selectors import VisitRow

log = logging.getLogger(__name__)

_PATHS = (
    ("combined", "Combined estimate"),
    ("multistep", "Multi-step estimate"),
    ("endtoend", "End-to-end estimate"),
)
_IMAGE_SIDE = 80 * mm


def _styles() -> dict[str, ParagraphStyle]:
    sheet = getSampleStyleSheet()
    return {
        "title": sheet["Title"],
        "heading": sheet["Heading2"],
        "body": sheet["BodyText"],
        "small": ParagraphStyle("small", parent=sheet["BodyText"], fontSize=8, leading=10),
        "status": ParagraphStyle(
            "status", parent=sheet["Heading2"], textColor=colors.HexColor("#a33a00")
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _estimate_text(estimate: Estimate) -> str:
    if not estimate.answered:
        return f"no estimate: {estimate.rejected or 'not given'}"
    low, high = estimate.interval_months  # type: ignore[misc]
    text = (
        f"{years_months(estimate.age_months)} ({estimate.age_months:.1f} months); 90 % interval "
        f"{years_months(low)} – {years_months(high)}"
    )
    return f"{text}. {estimate.edge}" if estimate.edge else text


def _estimates(assessment: AssessmentRecord, styles: dict[str, ParagraphStyle]) -> Table:
    estimates = assessment.reading_estimates()
    rows = [
        [_p(title, styles["body"]), _p(_estimate_text(estimates[key]), styles["body"])]
        for key, title in _PATHS
        if key in estimates
    ]
    table = Table(rows, colWidths=[45 * mm, 125 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _reading(assessment: AssessmentRecord) -> list[str]:
    chronological = assessment.chronological
    if chronological is None:
        return ["No chronological age was given: the bone age is not read against one."]
    if chronological.category is None:
        return [
            f"Chronological age {years_months(chronological.age_months)}: no estimate to read "
            "against it."
        ]
    low_high = (
        f" (interval {chronological.sds_interval[0]:+.1f} to {chronological.sds_interval[1]:+.1f})"
        if chronological.sds_interval
        else ""
    )
    lines = [
        f"Chronological age {years_months(chronological.age_months)}, read from the "
        f"{method_name(chronological.based_on or 'automated')} estimate: difference "
        f"{chronological.difference_months:+.1f} months, SDS {chronological.sds:+.2f}{low_high}, "
        f"{chronological.category}"
        + (f": {chronological.category_reason}." if chronological.category_reason else ".")
    ]
    if chronological.sds_note:
        lines.append(chronological.sds_note[0].upper() + chronological.sds_note[1:] + ".")
    lines.append(
        f"SD of bone age from {chronological.sd_source}; a band is named only when it is at "
        "least 90 % likely."
    )
    return lines


def _signature_lines(study: Study) -> list[str]:
    report = study.report
    reviews: list[Review] = list(report.reviews.select_related("reviewer").all())
    if not reviews:
        return ["Not signed. A clinician signs this report in the reading worklist."]
    of_record = report.review
    lines = []
    for review in reviews:
        who = review.reviewer.get_full_name() or review.reviewer.get_username()
        what = (
            f"accepted the {review.get_accepted_method_display()}"
            if review.decision == Review.Decision.ACCEPTED
            else "corrected the bone age"
        )
        state = (
            "the reading of record" if review == of_record else "superseded by a later signature"
        )
        reason = f" Reason: {review.reason}" if review.reason else ""
        lines.append(
            f"Signed by {who} ({study.institution.name}) at "
            f"{review.signed_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC: {what}, bone age "
            f"{years_months(review.bone_age_months)} ({review.bone_age_months:.1f} months); "
            f"{state}.{reason}"
        )
    return lines


def _image(field: Any) -> Image | None:
    """A stored PNG of the report at the print size, or None when it is missing."""
    if not field:
        return None
    try:
        with field.open("rb") as stored:
            data = io.BytesIO(stored.read())
    except OSError:
        log.warning("report image %s could not be read for the PDF", field.name)
        return None
    image = Image(data)
    scale = min(_IMAGE_SIDE / image.imageWidth, _IMAGE_SIDE / image.imageHeight)
    image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
    return image


def _facts(study: Study) -> list[str]:
    facts = [f"Study #{study.pk}, {study.institution.name}", f"Sex: {study.get_sex_display()}"]
    if study.patient_id:
        facts.append(f"Patient ID: {study.patient_id}")
    if study.patient_name:
        facts.append(f"Patient: {study.patient_name}")
    if study.birth_date:
        facts.append(f"Born: {study.birth_date}")
    if study.exam_date:
        facts.append(f"Examined: {study.exam_date}")
    if study.accession_number:
        facts.append(f"Accession number: {study.accession_number}")
    return facts


def study_pdf(study: Study, visits: Sequence[VisitRow]) -> bytes:
    """The PDF of ``study``'s report with the chart of ``visits`` (the patient's visits the
    user may see) when there are several; ``ReportNotReady`` without a report."""
    if getattr(study, "report", None) is None:
        raise ReportNotReady(f"Study {study.pk} has no report yet (status: {study.status}).")
    chart = None
    if len(visits) > 1:
        chart = engine.visits_chart([row.visit for row in visits], study.sex)
    return report_pdf(study, chart)


def pdf_response(study: Study, visits: Sequence[VisitRow]) -> HttpResponse:
    """:func:`study_pdf` as an inline download."""
    return HttpResponse(
        study_pdf(study, visits),
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="bone-age-report-{study.pk}.pdf"',
            "Cache-Control": "no-store",
        },
    )


def report_pdf(study: Study, visits_chart: bytes | None = None) -> bytes:
    """The PDF of ``study``'s report (it must have one); ``visits_chart`` is the PNG of the
    patient's visits, when there are several."""
    styles = _styles()
    assessment = engine.read_assessment(study.report.assessment)
    signed = study.report.is_signed
    story: list[Any] = [_p("Bone age report", styles["title"])]
    if not signed:
        story.append(_p("PRELIMINARY: not signed by a clinician", styles["status"]))
    story += [_p(fact, styles["body"]) for fact in _facts(study)]
    if assessment.standard:
        story.append(_p(f"Bone ages equivalent to {assessment.standard}.", styles["body"]))
    story += [Spacer(1, 4 * mm), _p("Estimates", styles["heading"]), _estimates(assessment, styles)]
    story.append(_p(assessment.agreement.reason, styles["body"]))
    story.append(_p("Bone age against chronological age", styles["heading"]))
    story += [_p(line, styles["body"]) for line in _reading(assessment)]
    images = [i for i in (_image(study.report.radiograph), _image(study.report.overlay)) if i]
    if images:
        story += [_p("The film as assessed", styles["heading"]), Table([images])]
    if visits_chart:
        chart = Image(io.BytesIO(visits_chart))
        scale = 170 * mm / chart.imageWidth
        chart.drawWidth, chart.drawHeight = 170 * mm, chart.imageHeight * scale
        story += [_p("Bone age across visits", styles["heading"]), chart]
    story.append(_p("Signatures", styles["heading"]))
    story += [_p(line, styles["body"]) for line in _signature_lines(study)]
    models = ", ".join(f"{role}: {summary.id}" for role, summary in assessment.models.items())
    printed = f"Printed {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by boneage {__version__}."
    story += [
        Spacer(1, 6 * mm),
        _p(f"{printed} Models: {models}." if models else printed, styles["small"]),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Bone age report, study {study.pk}",
        author=study.institution.name,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    document.build(story)
    return buffer.getvalue()

"""The pages: thin views that parse a form, call one service or selector, and render.

Engine and clinic errors (``BoneAgeError``) become the sentence they carry, shown next to the form;
a study of another institution is a 404 because the selectors never return it.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from boneage.errors import BoneAgeError, InputError
from clinic import engine, selectors, services, signing
from clinic.downloads import file_response
from clinic.errors import ReportNotReady, UploadTooLarge
from clinic.forms import ReviewForm, UploadForm
from clinic.models import Report, Review, Study
from clinic.pacs import selectors as pacs_selectors
from clinic.pdf import pdf_response


def home(request: HttpRequest) -> HttpResponse:
    return redirect("study-list")


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for the container's health check and the load balancer: 200 when the database
    answers, 503 when it does not. Says nothing else, needs no login."""
    try:
        with connection.cursor() as cursor:  # a query: a pooled connection may be a dead one
            cursor.execute("SELECT 1")
    except DatabaseError:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


@login_required
def study_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "")
    status = request.GET.get("status", "")
    numbers = (selectors.study_number(i) for i in request.GET.get("ids", "").split(","))
    ids = [number for number in numbers if number is not None] or None
    studies = selectors.study_list(user=request.user, search=search, status=status, ids=ids)
    context = {
        "studies": studies[:200],
        "search": search,
        "status": status,
        "statuses": Study.Status.choices,
        "polling": any(not study.is_finished for study in studies[:200]),
    }
    return render(request, "clinic/study_list.html", context)


@login_required
def study_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        studies: list[Study] = []
        for file in form.cleaned_data["files"]:
            try:
                submission = services.study_submit(
                    user=request.user, file=file, **form.study_fields()
                )
            except BoneAgeError as error:
                form.add_error(None, f"{file.name}: {error}")
                continue
            studies.append(submission.study)
            if not submission.created:
                messages.info(
                    request,
                    f"{file.name}: already uploaded as study {submission.study.pk} (the same "
                    "image of the same examination); it was not stored again.",
                )
        if studies and form.is_valid():
            if len(studies) == 1:
                return redirect("study-report", study_id=studies[0].pk)
            ids = ",".join(str(study.pk) for study in studies)
            return redirect(f"{reverse('study-list')}?ids={ids}")
        for study in studies:
            messages.success(request, f"{study.original_name}: queued as study {study.pk}.")
    return render(
        request,
        "clinic/upload.html",
        {"form": form, "max_mib": settings.BONEAGE_MAX_UPLOAD_BYTES // 2**20},
    )


@login_required
@require_POST
def upload_tags(request: HttpRequest) -> JsonResponse:
    """The tags of a dropped file as JSON, for the upload page to fill the form for confirmation."""
    file = request.FILES.get("file")
    if file is None:
        return JsonResponse({"error": "No file was sent."}, status=400)
    if file.size > settings.BONEAGE_MAX_UPLOAD_BYTES:
        return JsonResponse({"error": str(UploadTooLarge("The file is too large."))}, status=400)
    try:
        return JsonResponse(selectors.upload_tags(file=file))
    except InputError as error:
        return JsonResponse({"error": str(error)}, status=400)


@login_required
def study_report(request: HttpRequest, study_id: int) -> HttpResponse:
    study = selectors.study_get(user=request.user, study_id=study_id)
    report = getattr(study, "report", None)
    context = {
        "study": study,
        "report": report,
        "assessment": engine.read_assessment(report.assessment) if report else None,
        "review_form": ReviewForm(),
        "signed_reading": selectors.signed_reading(report),
        "undelivered": pacs_selectors.undelivered(study),
        **_visits(request, study),
        **_concerns(report),
    }
    return render(request, "clinic/report.html", context)


def _concerns(report: Report | None) -> dict[str, Any]:
    """What the sign forms show before an estimate is signed as shown: each concern once, and
    the estimates that need the confirmation."""
    if report is None or report.is_signed:
        return {"concerns": [], "confirm_methods": []}
    by_method = {
        method: signing.signing_concerns(report, method)
        for method in Review.Method.values
        if report.estimate_of(method) is not None
    }
    concerns = list(dict.fromkeys(words for found in by_method.values() for words in found))
    return {"concerns": concerns, "confirm_methods": [m for m, found in by_method.items() if found]}


def _visits(request: HttpRequest, study: Study) -> dict[str, Any]:
    """The child's visits for the report and reading pages: the table's rows and the
    velocities between them."""
    rows = selectors.patient_visits(user=request.user, study=study)
    return {"visits": rows, "velocities": engine.visit_velocities([row.visit for row in rows])}


@login_required
def study_visits_chart(request: HttpRequest, study_id: int) -> HttpResponse:
    """The chart of every visit of this study's patient, drawn now: a new visit changes it, so
    it is not stored with the report."""
    study = selectors.study_get(user=request.user, study_id=study_id)
    rows = selectors.patient_visits(user=request.user, study=study)
    if len(rows) < 2:
        raise Http404("This study's patient has no other visit.")
    png = engine.visits_chart([row.visit for row in rows], study.sex)
    return HttpResponse(png, content_type="image/png", headers={"Cache-Control": "no-store"})


@login_required
def study_report_pdf(request: HttpRequest, study_id: int) -> HttpResponse:
    """The report as a PDF for the patient record (:mod:`clinic.pdf`), drawn now."""
    study = selectors.study_get(user=request.user, study_id=study_id)
    try:
        return pdf_response(study, selectors.patient_visits(user=request.user, study=study))
    except ReportNotReady as error:
        raise Http404(str(error)) from error


@login_required
def study_status(request: HttpRequest, study_id: int) -> JsonResponse:
    """The study's status as JSON: the report page polls it until the study is finished."""
    study = selectors.study_get(user=request.user, study_id=study_id)
    return JsonResponse(
        {"id": study.pk, "status": study.status, "failure_reason": study.failure_reason}
    )


@login_required
@require_POST
def study_review(request: HttpRequest, study_id: int) -> HttpResponse:
    study = selectors.study_get(user=request.user, study_id=study_id)
    _sign(request, study)
    return redirect("study-report", study_id=study.pk)


def _sign(request: HttpRequest, study: Study) -> bool:
    """Sign ``study``'s report from the posted review form; the outcome, or why it was refused,
    becomes a message on the next page."""
    form = ReviewForm(request.POST)
    if not hasattr(study, "report"):
        messages.error(request, "This study has no report to sign yet.")
    elif not form.is_valid():
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
    else:
        try:
            review = signing.review_sign(
                report=study.report,
                reviewer=request.user,
                accept=form.cleaned_data["accept"] or None,
                corrected_age_months=form.cleaned_data["corrected_age_months"],
                reason=form.cleaned_data["reason"],
                confirmed=form.cleaned_data["confirm"],
            )
        except BoneAgeError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                f"Study #{study.pk} signed: {review.get_decision_display()}, "
                f"bone age {review.bone_age_months:.1f} months.",
            )
            return True
    return False


@login_required
def worklist(request: HttpRequest) -> HttpResponse:
    """The reading worklist: finished, unsigned reports, flagged ones first, then oldest."""
    queue = selectors.review_queue(user=request.user)
    return render(request, "clinic/worklist.html", {"reports": queue[:200], "count": queue.count()})


@login_required
def reading(request: HttpRequest, study_id: int) -> HttpResponse:
    """One study read for sign-off: the film and the overlay, both estimates, checks, chart."""
    study = selectors.study_get(user=request.user, study_id=study_id)
    report = getattr(study, "report", None)
    if report is None:
        messages.info(request, f"Study #{study.pk} has no report to read yet.")
        return redirect("study-report", study_id=study.pk)
    previous, following = selectors.worklist_neighbours(user=request.user, report=report)
    context = {
        "study": study,
        "report": report,
        "assessment": engine.read_assessment(report.assessment),
        "review_form": ReviewForm(),
        "previous": previous,
        "next": following,
        "signed_reading": selectors.signed_reading(report),
        **_visits(request, study),
        **_concerns(report),
    }
    return render(request, "clinic/reading.html", context)


@login_required
@require_POST
def reading_sign(request: HttpRequest, study_id: int) -> HttpResponse:
    """Sign from the reading page; "sign and next" goes on to the next study of the worklist,
    or back to the worklist when it is empty. A refused signature stays on this study."""
    study = selectors.study_get(user=request.user, study_id=study_id)
    if not _sign(request, study) or request.POST.get("then") != "next":
        return redirect("reading", study_id=study.pk)
    _, following = selectors.worklist_neighbours(user=request.user, report=study.report)
    if following is None:
        messages.info(request, "The worklist is done: no study is waiting for review.")
        return redirect("worklist")
    return redirect("reading", study_id=following)


@login_required
def study_file(request: HttpRequest, study_id: int, kind: str) -> HttpResponse:
    """A stored file of one of the user's studies (404 for anyone else's)."""
    stored = selectors.study_file(user=request.user, study_id=study_id, kind=kind)
    name = PurePosixPath(stored.name).name
    return file_response(
        stored, download_name=f"study-{study_id}-{name}" if kind == "original" else None
    )

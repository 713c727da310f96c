"""Signing a report: a radiologist accepts one estimate as shown or corrects the bone age, and
an estimate that deserves a second look is signed only once that look is confirmed.

Called by the web pages and the admin alike; the signatures are immutable (a later change is a
new review with its reason).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from clinic import engine
from clinic.access import studies_visible_to
from clinic.errors import (
    AlreadySigned,
    ConfirmationRequired,
    InvalidStudyData,
    ReviewChoiceRequired,
    ReviewReasonRequired,
)
from clinic.models import REASON_MAX_CHARS, Report, Review
from clinic.pacs import triggers as pacs_triggers


def signing_concerns(report: Report, method: str) -> list[str]:
    """Why signing ``method``'s estimate as shown deserves a second look, in words; empty when
    nothing does: the study is flagged for review (the estimates disagree, or a check failed),
    or this estimate lies outside another path's 90 % interval (the combined estimate is checked
    against both paths)."""
    assessment = engine.read_assessment(report.assessment)
    concerns = []
    if report.flag_for_review:
        concerns.append(f"the study is flagged for review ({assessment.agreement.reason})")
    estimates = assessment.estimates()
    signed = assessment.estimate_of(method)
    for other_method, other in estimates.items():
        if other_method == method or signed is None or not signed.answered or not other.answered:
            continue
        low, high = other.interval_months
        if not low <= signed.age_months <= high:
            concerns.append(
                f"the {Review.Method(method).label}, {signed.age_months:.1f} months, lies "
                f"outside the {Review.Method(other_method).label}'s 90 % interval "
                f"({low:.1f} to {high:.1f} months)"
            )
    return concerns


def review_sign(
    *,
    report: Report,
    reviewer: AbstractBaseUser,
    accept: str | None = None,
    corrected_age_months: float | None = None,
    reason: str = "",
    confirmed: bool = False,
) -> Review:
    """Sign a report off: accept one of its estimates as shown (``accept``: "multistep",
    "endtoend" or "combined"), or correct the bone age giving the reason.

    Nothing is signed that the reviewer did not see: the combined estimate only as the report
    showed it (with its rule), no estimate chosen for them. The reviewer must be able to see the
    study (``clinic.access``: a member of its institution, superusers too).
    A signature is immutable: a signed report changes only by a new review that gives its reason
    (a correction, or the other estimate accepted), kept beside the earlier ones and becoming the
    reading of record; signing it again without a reason is ``AlreadySigned``, which is also what
    the second of two reviewers signing the same report at once gets.

    An estimate that deserves a second look (:func:`signing_concerns`: a flagged study, or an
    estimate outside the other path's interval) is signed as shown only ``confirmed``; otherwise
    ``ConfirmationRequired`` names the concerns. One key press must not sign such a study.
    """
    if not studies_visible_to(reviewer).filter(pk=report.study_id).exists():
        raise PermissionDenied("the reviewer belongs to another institution")
    reason = reason.strip()
    if len(reason) > REASON_MAX_CHARS:
        raise InvalidStudyData(
            f"The reason is {len(reason):,} characters long; a signature keeps at most "
            f"{REASON_MAX_CHARS} characters: shorten it."
        )
    method = ""
    if corrected_age_months is None:
        shown = [m for m in Review.Method.values if report.estimate_of(m) is not None]
        if not shown:
            raise ReviewReasonRequired(
                "There is no estimate to accept: give the bone age you read, with the reason."
            )
        if accept not in shown:
            raise ReviewChoiceRequired(
                "Choose which estimate to sign ("
                + " or ".join(Review.Method(m).label for m in shown)
                + "), or enter a corrected bone age with its reason."
            )
        concerns = signing_concerns(report, accept)
        if concerns and not confirmed:
            raise ConfirmationRequired(
                f"Look again before signing the {Review.Method(accept).label} as shown: "
                + "; ".join(concerns)
                + ". Confirm that you have, and sign again."
            )
        decision, bone_age, method = Review.Decision.ACCEPTED, report.estimate_of(accept), accept
    else:
        if not reason:
            raise ReviewReasonRequired("A corrected bone age needs the reason for the correction.")
        if corrected_age_months < 0:
            raise InvalidStudyData("A bone age cannot be negative.")
        decision, bone_age = Review.Decision.CORRECTED, float(corrected_age_months)
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        earlier = Review.objects.filter(report=locked).select_related("reviewer").last()
        if earlier is not None and not reason:
            raise AlreadySigned(
                f"This report was already signed by {earlier.reviewer} on "
                f"{earlier.signed_at:%Y-%m-%d %H:%M}. To change it, sign a correction with its "
                "reason; the earlier signature is kept."
            )
        review = Review.objects.create(
            report=locked,
            reviewer=reviewer,
            decision=decision,
            accepted_method=method,
            bone_age_months=bone_age,
            reason=reason,
            signed_at=timezone.now(),
        )
        pacs_triggers.report_signed(review)
        return review

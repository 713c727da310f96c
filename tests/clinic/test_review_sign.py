"""``services.review_sign``: accept or correct with a reason, once, within the institution."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from clinic import services
from clinic.errors import AlreadySigned, ReviewReasonRequired
from clinic.models import Review


def test_accepting_records_the_mean_of_the_two_estimates(done_study, user):
    review = services.review_sign(report=done_study.report, reviewer=user)
    assert review.decision == Review.Decision.ACCEPTED
    assert review.bone_age_months == pytest.approx((121.4 + 118.9) / 2)


def test_a_correction_without_a_reason_is_refused(done_study, user):
    with pytest.raises(ReviewReasonRequired):
        services.review_sign(report=done_study.report, reviewer=user, corrected_age_months=100)
    assert not Review.objects.exists()


def test_a_correction_keeps_its_reason_and_value(done_study, user):
    review = services.review_sign(
        report=done_study.report, reviewer=user, corrected_age_months=100, reason=" carpals "
    )
    assert (review.decision, review.bone_age_months, review.reason) == ("corrected", 100, "carpals")


def test_a_report_is_signed_only_once(done_study, user):
    services.review_sign(report=done_study.report, reviewer=user)
    with pytest.raises(AlreadySigned):
        services.review_sign(report=done_study.report, reviewer=user)


def test_a_reviewer_of_another_institution_cannot_sign(done_study, other_user):
    with pytest.raises(PermissionDenied):
        services.review_sign(report=done_study.report, reviewer=other_user)


def test_sign_off_is_kept_in_the_audit_history(done_study, user):
    review = services.review_sign(report=done_study.report, reviewer=user)
    assert review.history.count() == 1
    assert done_study.report.history.count() == 1

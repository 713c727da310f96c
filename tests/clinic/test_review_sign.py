"""``signing.review_sign``: accept or correct with a reason, once, within the institution, and a
second look confirmed before an estimate that needs one is signed as shown."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from clinic import signing
from clinic.errors import (
    AlreadySigned,
    ConfirmationRequired,
    ReviewChoiceRequired,
    ReviewReasonRequired,
)
from clinic.models import Report, Review


def test_accepting_signs_the_estimate_chosen_as_shown(done_study, user):
    review = signing.review_sign(report=done_study.report, reviewer=user, accept="endtoend")
    assert review.decision == Review.Decision.ACCEPTED
    assert review.accepted_method == "endtoend"
    assert review.bone_age_months == pytest.approx(118.9)


def test_accepting_without_choosing_an_estimate_is_refused(done_study, user):
    """Accept once signed the mean of the two estimates, a number shown nowhere."""
    for accept in (None, "mean"):
        with pytest.raises(ReviewChoiceRequired, match="multi-step estimate or end-to-end"):
            signing.review_sign(report=done_study.report, reviewer=user, accept=accept)
    assert not Review.objects.exists()


def test_an_estimate_that_was_not_given_cannot_be_accepted(done_study, user):
    report = done_study.report
    report.multistep_age_months = None
    report.save()
    with pytest.raises(ReviewChoiceRequired, match=r"\(end-to-end estimate\)"):
        signing.review_sign(report=report, reviewer=user, accept="multistep")
    report.endtoend_age_months = None
    report.save()
    with pytest.raises(ReviewReasonRequired, match="no estimate to accept"):
        signing.review_sign(report=report, reviewer=user, accept="endtoend")


def test_a_correction_without_a_reason_is_refused(done_study, user):
    with pytest.raises(ReviewReasonRequired):
        signing.review_sign(report=done_study.report, reviewer=user, corrected_age_months=100)
    assert not Review.objects.exists()


def test_a_correction_keeps_its_reason_and_value(done_study, user):
    review = signing.review_sign(
        report=done_study.report, reviewer=user, corrected_age_months=100, reason=" carpals "
    )
    assert (review.decision, review.bone_age_months, review.reason) == ("corrected", 100, "carpals")


def test_a_signed_report_is_not_signed_again_without_a_reason(done_study, user):
    """Also what the second of two reviewers signing one report at once gets."""
    signing.review_sign(report=done_study.report, reviewer=user, accept="multistep")
    with pytest.raises(AlreadySigned, match="already signed by .* sign a correction"):
        signing.review_sign(report=done_study.report, reviewer=user, accept="endtoend")
    assert done_study.report.reviews.count() == 1


def test_a_later_correction_is_a_new_signature_and_the_first_is_kept(done_study, user):
    report = done_study.report
    first = signing.review_sign(report=report, reviewer=user, accept="multistep")
    later = signing.review_sign(
        report=report, reviewer=user, corrected_age_months=90, reason="fused radius missed"
    )
    report.refresh_from_db()
    assert list(report.reviews.all()) == [first, later]
    assert report.review == later and report.is_signed
    first.refresh_from_db()
    assert (first.decision, first.accepted_method) == ("accepted", "multistep")


def test_a_reviewer_of_another_institution_cannot_sign(done_study, other_user):
    with pytest.raises(PermissionDenied):
        signing.review_sign(report=done_study.report, reviewer=other_user, accept="multistep")


def test_sign_off_is_kept_in_the_audit_history(done_study, user):
    review = signing.review_sign(report=done_study.report, reviewer=user, accept="multistep")
    assert review.history.count() == 1
    assert done_study.report.history.count() == 1


def test_a_reason_over_the_length_limit_is_refused_and_nothing_is_signed(done_study, user):
    """A 3 MB reason was once stored."""
    from clinic.errors import InvalidStudyData

    with pytest.raises(InvalidStudyData, match="at most 2000 characters"):
        signing.review_sign(
            report=done_study.report,
            reviewer=user,
            corrected_age_months=130,
            reason="x" * 3_000_000,
        )
    assert not Review.objects.exists()


def test_the_page_refuses_an_overlong_reason_in_words(done_study, user, client):
    from django.urls import reverse

    client.force_login(user)
    page = client.post(
        reverse("study-review", args=[done_study.pk]),
        {"corrected_age_months": "130", "reason": "x" * 2001},
        follow=True,
    )
    assert "at most 2000 characters" in page.content.decode()
    assert not Review.objects.exists()


def test_a_flagged_study_is_signed_as_shown_only_with_the_second_look_confirmed(done_study, user):
    """One key press once signed a flagged study ("0.0 months" for a toddler)."""
    report = done_study.report
    report.flag_for_review = True
    report.save()
    with pytest.raises(ConfirmationRequired, match="flagged for review .* Confirm"):
        signing.review_sign(report=report, reviewer=user, accept="endtoend")
    assert not Review.objects.exists()
    review = signing.review_sign(report=report, reviewer=user, accept="endtoend", confirmed=True)
    assert review.accepted_method == "endtoend"


def test_an_estimate_outside_the_other_paths_interval_needs_the_second_look(
    user, upload, fake_engine
):
    from clinic import services

    fake_engine.answer(multistep=150.0, endtoend=100.0)  # end-to-end interval 85 to 115
    study = services.study_create(user=user, file=upload(), sex="F")
    services.run_assessment(study_id=study.pk)
    report = Report.objects.get(study=study)
    report.flag_for_review = False  # the interval alone, not the flag
    report.save()
    (concern,) = signing.signing_concerns(report, "multistep")
    assert "150.0 months, lies outside the end-to-end estimate's 90 % interval" in concern
    assert "(85.0 to 115.0 months)" in concern
    with pytest.raises(ConfirmationRequired):
        signing.review_sign(report=report, reviewer=user, accept="multistep")
    # a correction is the reader's own value, with its reason: no second confirmation
    corrected = signing.review_sign(
        report=report, reviewer=user, corrected_age_months=130.0, reason="read by hand"
    )
    assert corrected.bone_age_months == 130.0


def test_the_reading_page_refuses_a_flagged_signature_without_the_confirmation(
    client, done_study, user
):
    from django.urls import reverse

    Report.objects.filter(pk=done_study.report.pk).update(flag_for_review=True)
    client.force_login(user)
    page = client.get(reverse("reading", args=[done_study.pk])).content.decode()
    assert 'id="confirm-panel"' in page and "data-needs-confirm" in page
    url = reverse("reading-sign", args=[done_study.pk])
    refused = client.post(url, {"accept": "multistep", "then": "next"}, follow=True)
    assert "Look again before signing" in refused.content.decode()
    assert not Review.objects.exists()
    client.post(url, {"accept": "multistep", "then": "next", "confirm": "on"})
    assert Review.objects.get().accepted_method == "multistep"


def test_the_combined_estimate_is_signed_as_the_report_showed_it(user, upload, fake_engine):
    from clinic import services
    from tests.clinic.conftest import contract_assessment, fake_assessment

    data = contract_assessment()
    data["combined"] = {"age_months": 120.1, "interval_months": [105.0, 135.2], "rule": "r"}
    fake_engine.result = fake_assessment(data)
    study = services.study_create(user=user, file=upload(), sex="F")
    services.run_assessment(study_id=study.pk)
    report = Report.objects.get(study=study)
    assert report.combined_age_months == pytest.approx(120.1)
    assert signing.signing_concerns(report, "combined") == []
    review = signing.review_sign(report=report, reviewer=user, accept="combined")
    assert (review.accepted_method, review.bone_age_months) == ("combined", pytest.approx(120.1))
    assert review.get_accepted_method_display() == "combined estimate"


def test_a_combined_estimate_outside_a_paths_interval_needs_the_second_look(
    user, upload, fake_engine
):
    from clinic import services
    from tests.clinic.conftest import contract_assessment, fake_assessment

    data = contract_assessment(multistep=121.4, endtoend=118.9)
    data["combined"] = {"age_months": 140.0, "interval_months": [125.0, 155.0], "rule": "r"}
    fake_engine.result = fake_assessment(data)
    study = services.study_create(user=user, file=upload(), sex="F")
    services.run_assessment(study_id=study.pk)
    report = Report.objects.get(study=study)
    concerns = signing.signing_concerns(report, "combined")
    assert any("the combined estimate, 140.0 months, lies outside" in c for c in concerns)
    with pytest.raises(ConfirmationRequired):
        signing.review_sign(report=report, reviewer=user, accept="combined")

"""Selectors: a user sees the studies of the user's institution and nothing else."""

from __future__ import annotations

import pytest
from django.http import Http404

from clinic import selectors, services, signing


@pytest.fixture
def studies(user, other_user, upload):
    mine = services.study_create(user=user, file=upload(), sex="F", patient_id="P-1")
    theirs = services.study_create(user=other_user, file=upload(), sex="F", patient_id="P-1")
    return mine, theirs


def test_a_user_lists_only_the_studies_of_the_institution(studies, user, make_user):
    mine, theirs = studies
    colleague = make_user("colleague", user.membership.institution)
    assert list(selectors.study_list(user=user)) == [mine]
    assert list(selectors.study_list(user=colleague)) == [mine]


def test_another_institutions_study_is_not_found(studies, user, other_user):
    mine, theirs = studies
    with pytest.raises(Http404):
        selectors.study_get(user=user, study_id=theirs.pk)
    with pytest.raises(Http404):
        selectors.study_file(user=other_user, study_id=mine.pk, kind="original")


def test_a_user_without_institution_sees_nothing(studies, django_user_model):
    loner = django_user_model.objects.create_user(username="loner", password="pw")
    assert not selectors.study_list(user=loner).exists()


def test_search_finds_a_study_by_patient_id_or_number(studies, user):
    mine, _ = studies
    assert list(selectors.study_list(user=user, search=" P-1 ")) == [mine]
    assert list(selectors.study_list(user=user, search=str(mine.pk))) == [mine]
    assert not selectors.study_list(user=user, search="P-2").exists()


def test_status_filter(studies, user):
    assert selectors.study_list(user=user, status="queued").count() == 1
    assert not selectors.study_list(user=user, status="done").exists()


def test_the_review_queue_puts_flagged_reports_first(user, upload, fake_engine):
    fake_engine.answer(multistep=120, endtoend=118)
    calm = services.study_create(user=user, file=upload(), sex="F")
    services.run_assessment(study_id=calm.pk)
    fake_engine.answer(multistep=160, endtoend=100)
    flagged = services.study_create(user=user, file=upload(), sex="F")
    services.run_assessment(study_id=flagged.pk)
    queue = list(selectors.review_queue(user=user))
    assert [report.study_id for report in queue] == [flagged.pk, calm.pk]
    signing.review_sign(report=queue[0], reviewer=user, corrected_age_months=130, reason="x")
    assert [report.study_id for report in selectors.review_queue(user=user)] == [calm.pk]

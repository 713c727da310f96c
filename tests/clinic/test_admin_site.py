"""The admin: filters, identifier search, the review queue, sign-off with a reason, CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from clinic import services
from clinic.models import Review


@pytest.fixture
def admin_browser(client, make_user, user):
    staff = make_user("boss", user.membership.institution, is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


@pytest.fixture
def two_reports(user, upload, fake_engine):
    fake_engine.answer(multistep=120, endtoend=118)
    calm = services.study_create(user=user, file=upload(), sex="F", accession_number="A-1")
    services.run_assessment(study_id=calm.pk)
    fake_engine.answer(multistep=160, endtoend=100)
    flagged = services.study_create(user=user, file=upload(), sex="F", accession_number="A-2")
    services.run_assessment(study_id=flagged.pk)
    return calm.report, flagged.report


def test_study_list_filters_and_search_by_identifier(admin_browser, two_reports):
    calm, flagged = two_reports
    url = reverse("admin:clinic_study_changelist")
    assert admin_browser.get(url, {"status": "done", "review": "unsigned"}).status_code == 200
    page = admin_browser.get(url, {"q": "A-2"}).context["cl"]
    assert [study.pk for study in page.result_list] == [flagged.study_id]
    assert admin_browser.get(url, {"report__agree__exact": "0"}).context["cl"].result_count == 1


def test_the_review_queue_lists_flagged_reports_first(admin_browser, two_reports):
    calm, flagged = two_reports
    changelist = admin_browser.get(reverse("admin:clinic_reviewqueue_changelist")).context["cl"]
    assert [report.pk for report in changelist.result_list] == [flagged.pk, calm.pk]


def test_no_bulk_action_signs_reports_unseen(admin_browser, two_reports):
    calm, _ = two_reports
    admin_browser.post(
        reverse("admin:clinic_report_changelist"),
        {"action": "sign_off", "_selected_action": [calm.pk]},
    )
    assert not Review.objects.exists()


def test_accepting_in_the_admin_names_the_estimate(admin_browser, two_reports):
    calm, _ = two_reports
    url = reverse("admin:clinic_review_add")
    response = admin_browser.post(url, {"report": calm.pk})
    assert response.status_code == 200 and not Review.objects.exists()
    admin_browser.post(url, {"report": calm.pk, "accept": "multistep"})
    review = Review.objects.get()
    assert (review.accepted_method, review.bone_age_months) == ("multistep", 120.0)


def test_a_correction_in_the_admin_needs_a_reason(admin_browser, two_reports):
    _, flagged = two_reports
    url = reverse("admin:clinic_review_add")
    response = admin_browser.post(url, {"report": flagged.pk, "corrected_age_months": "130"})
    assert response.status_code == 200 and not Review.objects.exists()
    admin_browser.post(url, {"report": flagged.pk, "corrected_age_months": "130", "reason": "x"})
    review = Review.objects.get()
    assert (review.decision, review.bone_age_months, review.reason) == ("corrected", 130, "x")
    history = admin_browser.get(reverse("admin:clinic_review_history", args=[review.pk]))
    assert history.status_code == 200


def test_csv_export_of_studies(admin_browser, two_reports):
    response = admin_browser.post(
        reverse("admin:clinic_study_changelist"),
        {"action": "export_csv", "_selected_action": [r.study_id for r in two_reports]},
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert sorted(float(row["multistep_age_months"]) for row in rows) == [120.0, 160.0]


def test_a_report_in_the_admin_links_its_page_and_a_signed_review_cannot_be_deleted(
    admin_browser, two_reports
):
    calm, _ = two_reports
    page = admin_browser.get(reverse("admin:clinic_report_change", args=[calm.pk]))
    text = page.content.decode()
    assert reverse("study-report", args=[calm.study_id]) in text
    assert '"schema_version"' not in text  # no JSON dump of the assessment
    admin_browser.post(
        reverse("admin:clinic_review_add"), {"report": calm.pk, "accept": "endtoend"}
    )
    review = Review.objects.get()
    admin_browser.post(reverse("admin:clinic_review_delete", args=[review.pk]), {"post": "yes"})
    assert Review.objects.filter(pk=review.pk).exists()


def test_admin_pages_read_in_words_and_every_link_on_them_works(admin_browser, two_reports):
    """Columns in words (no raw field names, no JSON dumps) and links that do not 404."""
    import re

    calm, _ = two_reports
    pages = [
        reverse("admin:clinic_study_changelist"),
        reverse("admin:clinic_study_change", args=[calm.study_id]),
        reverse("admin:clinic_report_changelist"),
        reverse("admin:clinic_report_change", args=[calm.pk]),
    ]
    for url in pages:
        page = admin_browser.get(url).content.decode()
        assert "Multistep age months" not in page and '{"' not in page
        links = set(re.findall(r'href="(/(?:studies|reading)/[^"]+)"', page))
        assert links, url
        for link in links:
            assert admin_browser.get(link).status_code == 200, (url, link)
    study_page = admin_browser.get(pages[1]).content.decode()
    assert "original file" in study_page and "hmac" not in study_page.lower()
    assert "10 y 0 mo (120.0 months)" in admin_browser.get(pages[2]).content.decode()

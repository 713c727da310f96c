"""The reading worklist and page: flagged first, the film and overlay, sign and next, history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinic import services, signing
from clinic.models import Review


@pytest.fixture
def browser(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def three_done(user, upload, fake_engine):
    """Three assessed studies, in upload order; the second one's estimates disagree (flagged)."""
    studies = []
    for multistep, endtoend in ((120.0, 118.0), (60.0, 130.0), (100.0, 104.0)):
        fake_engine.answer(multistep=multistep, endtoend=endtoend)
        study = services.study_create(user=user, file=upload(), sex="F")
        services.run_assessment(study_id=study.pk)
        study.refresh_from_db()
        studies.append(study)
    return studies


def test_the_worklist_puts_flagged_studies_first_and_leaves_out_signed_ones(browser, three_done):
    first, flagged, third = three_done
    assert flagged.report.flag_for_review and not first.report.flag_for_review
    signing.review_sign(report=third.report, reviewer=flagged.uploaded_by, accept="endtoend")
    page = browser.get(reverse("worklist")).content.decode()
    links = [f'href="{reverse("reading", args=[s.pk])}"' for s in (flagged, first)]
    assert page.index(links[0]) < page.index(links[1])
    assert reverse("reading", args=[third.pk]) not in page
    assert "the estimates disagree" in page and "2 awaiting review" in page


def test_the_reading_page_shows_film_overlay_estimates_and_keys(browser, three_done):
    first, flagged, _ = three_done
    page = browser.get(reverse("reading", args=[first.pk])).content.decode()
    for kind in ("radiograph", "overlay", "chart"):
        assert reverse("study-file", args=[first.pk, kind]) in page
    assert 'data-key="1"' in page and 'data-key="2"' in page
    # the worklist order: the flagged study comes before this one, the third after it
    assert reverse("reading", args=[flagged.pk]) in page
    image = browser.get(reverse("study-file", args=[first.pk, "radiograph"]))
    assert b"".join(image.streaming_content)[:4] == b"\x89PNG"


def test_sign_and_next_signs_the_estimate_shown_and_opens_the_next_study(browser, three_done):
    first, flagged, third = three_done
    response = browser.post(  # a flagged study is signed as shown with the second look confirmed
        reverse("reading-sign", args=[flagged.pk]),
        {"accept": "multistep", "then": "next", "confirm": "on"},
    )
    assert response["Location"] == reverse("reading", args=[first.pk])
    review = Review.objects.get()
    assert (review.report, review.accepted_method, review.bone_age_months) == (
        flagged.report,
        "multistep",
        60.0,
    )
    response = browser.post(
        reverse("reading-sign", args=[first.pk]), {"accept": "endtoend", "then": "next"}
    )
    assert response["Location"] == reverse("reading", args=[third.pk])
    response = browser.post(
        reverse("reading-sign", args=[third.pk]), {"accept": "endtoend", "then": "next"}
    )
    assert response["Location"] == reverse("worklist")
    assert "no study is waiting" in browser.get(response["Location"]).content.decode()


def test_a_refused_signature_stays_on_the_study_and_says_why(browser, three_done):
    first = three_done[0]
    url = reverse("reading-sign", args=[first.pk])
    for data, words in (
        ({"then": "next"}, "Choose which estimate to sign"),
        ({"corrected_age_months": "90", "then": "next"}, "needs the reason"),
        ({"accept": "multistep", "corrected_age_months": "90"}, "not both"),
    ):
        response = browser.post(url, data, follow=True)
        assert response.redirect_chain[-1][0] == reverse("reading", args=[first.pk])
        assert words in response.content.decode()
    assert not Review.objects.exists()


def test_a_correction_after_sign_off_keeps_both_signatures_in_the_history(browser, done_study):
    url = reverse("study-review", args=[done_study.pk])
    browser.post(url, {"accept": "multistep"})
    browser.post(url, {"accept": "endtoend"})  # signing again without a reason is refused
    browser.post(url, {"corrected_age_months": "96", "reason": "capitate read as hamate"})
    reviews = list(done_study.report.reviews.all())
    assert [r.decision for r in reviews] == ["accepted", "corrected"]
    page = browser.get(reverse("study-report", args=[done_study.pk])).content.decode()
    assert "Superseded by the later signature below" in page and "Reading of record" in page
    assert "capitate read as hamate" in page
    api = browser.get(f"/api/v1/studies/{done_study.pk}/").json()
    assert api["review"]["bone_age_months"] == 96
    assert [s["decision"] for s in api["signatures"]] == ["accepted", "corrected"]


def test_another_institution_cannot_read_or_sign(client, other_user, done_study):
    client.force_login(other_user)
    assert client.get(reverse("reading", args=[done_study.pk])).status_code == 404
    response = client.post(reverse("reading-sign", args=[done_study.pk]), {"accept": "endtoend"})
    assert response.status_code == 404
    worklist = client.get(reverse("worklist")).content.decode()
    assert reverse("reading", args=[done_study.pk]) not in worklist
    assert not Review.objects.exists()


def test_the_reading_page_shows_the_reading_against_chronological_age_before_signing(
    client, done_study, user
):
    """The radiologist once signed without seeing the SDS and the category."""
    client.force_login(user)
    page = client.get(reverse("reading", args=[done_study.pk])).content.decode()
    assert "Bone age vs chronological age" in page
    assert "SDS" in page and 'class="category"' in page
    assert page.index("Bone age vs chronological age") < page.index('id="reading-form"')

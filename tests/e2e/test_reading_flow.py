"""A radiologist reads the worklist in the browser: the flagged study first, the film and the
overlay zoomed with the keyboard, one estimate signed with a key ("sign and next"), a correction
with its reason, and the worklist emptied. Screenshots go to the ``screenshots`` folder (a
temporary one; docs/screenshots/ with ``make screenshots``).
"""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.clinic.conftest import phantom_png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ASSESS_TIMEOUT_S = 300


def _assessed_studies(user, count: int) -> list:
    """``count`` phantom studies queued through the service and assessed by the real worker."""
    from clinic import services
    from clinic.models import Study

    studies = [
        services.study_create(
            user=user,
            file=SimpleUploadedFile(
                f"hand-{i}.png", phantom_png_bytes(seed=20 + i, age_months=60.0 + 40 * i)
            ),
            sex="F",
            chronological_age_months=60.0 + 40 * i,
            patient_name=f"Test^Child{i}",
            patient_id=f"MRN-{i}",
        )
        for i in range(count)
    ]
    deadline = time.monotonic() + ASSESS_TIMEOUT_S
    while Study.objects.filter(pk__in=[s.pk for s in studies], status="done").count() < count:
        failed = Study.objects.filter(pk__in=[s.pk for s in studies], status="failed").first()
        assert failed is None, failed.failure_reason
        assert time.monotonic() < deadline, "the worker did not assess the studies in time"
        time.sleep(1)
    return [Study.objects.select_related("report").get(pk=s.pk) for s in studies]


def test_read_sign_and_next_from_the_worklist(
    live_server, worker, chromium, clinician, screenshots
):
    from clinic.models import Report

    anna = clinician["anna"]
    first, second, third = _assessed_studies(anna, 3)
    # the third needs a reader whatever the models say: flag it, as a disagreement would, and
    # only it (the landmark U-Net's chains may cross on a phantom, which flags it too)
    Report.objects.filter(study=third).update(flag_for_review=True)
    Report.objects.filter(study__in=[first, second]).update(flag_for_review=False)

    page = chromium.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "anna")
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")

    page.goto(f"{live_server.url}/reading/")
    rows = page.locator("table.worklist tbody tr")
    assert rows.count() == 3
    assert rows.nth(0).inner_text().startswith(f"#{third.pk}")  # flagged first
    page.screenshot(path=str(screenshots / "worklist.png"))

    # action 1: open the first study
    rows.nth(0).locator("a").click()
    page.wait_for_url(f"{live_server.url}/reading/{third.pk}/")
    page.wait_for_load_state("networkidle")
    assert page.locator("figure.zoom img").count() == 2  # the film and the overlay
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert "scale(1.5625)" in page.locator("figure.zoom img").first.get_attribute("style")
    page.screenshot(path=str(screenshots / "reading.png"), full_page=True)
    page.keyboard.press("0")
    assert "scale(1)" in page.locator("figure.zoom img").first.get_attribute("style")

    # action 2: the study is flagged, so one key does not sign it: the first press points at
    # the concerns; y ticks the second look, and the same key then signs and opens the next
    assert "flagged for review" in page.inner_text("#confirm-panel")
    page.keyboard.press("2")
    assert "attention" in page.locator("#confirm-panel").get_attribute("class")
    assert page.url == f"{live_server.url}/reading/{third.pk}/"
    assert not Report.objects.get(study=third).reviews.exists()
    page.keyboard.press("y")
    page.keyboard.press("2")
    page.wait_for_url(f"{live_server.url}/reading/{first.pk}/")
    assert f"Study #{third.pk} signed" in page.inner_text(".message")

    # a correction: c puts the cursor in the value; the reason is required and kept; Enter in
    # the value signs the correction (it once submitted the form as "sign multi-step")
    page.keyboard.press("c")
    page.keyboard.type("75")
    page.fill("#id_reason", "carpal bones read by hand")
    page.press("#id_corrected_age_months", "Enter")
    page.wait_for_url(f"{live_server.url}/reading/{second.pk}/")

    from clinic.signing import signing_concerns

    if signing_concerns(Report.objects.get(study=second), "multistep"):
        page.keyboard.press("y")  # the phantom's two estimates may disagree: confirm the look
    page.keyboard.press("1")
    page.wait_for_url(f"{live_server.url}/reading/")
    assert "no study is waiting" in page.inner_text("main")

    reviews = {r.report.study_id: r for r in anna.reviews.select_related("report")}
    assert reviews[third.pk].accepted_method == "endtoend"
    assert (reviews[first.pk].decision, reviews[first.pk].bone_age_months) == ("corrected", 75)
    assert reviews[first.pk].reason == "carpal bones read by hand"
    assert reviews[second.pk].accepted_method == "multistep"

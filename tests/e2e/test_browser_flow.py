"""A clinician logs in, uploads a phantom and a real radiograph, and reads both reports once the
real worker has assessed them; a user of another hospital gets a 404. Screenshots go to the
``screenshots`` folder (a temporary one; docs/screenshots/ with ``make screenshots``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.boneage.real_sample import UNLABELLED_REAL
from tests.clinic.conftest import phantom_png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REAL_XRAY = UNLABELLED_REAL / "0.png"
# Model loading plus one assessment on a shared CPU: generous.
REPORT_TIMEOUT_MS = 240_000


def _log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/studies/")


def _upload(page, base_url: str, path: Path, **fields: str) -> str:
    page.goto(f"{base_url}/studies/new/")
    page.set_input_files("input[type=file]", str(path))
    page.select_option("#id_sex", fields["sex"])
    page.fill("#id_chronological_age_months", fields["age"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/studies/*/")
    return page.url


def _wait_for_report(page) -> None:
    page.wait_for_selector(".estimate[data-method=endtoend], .failed", timeout=REPORT_TIMEOUT_MS)
    assert not page.query_selector(".failed"), page.inner_text(".failed")
    page.wait_for_load_state("networkidle")  # the overlay and chart images, for the screenshots


def test_upload_and_read_reports(live_server, worker, chromium, clinician, tmp_path, screenshots):
    phantom = tmp_path / "phantom.png"
    phantom.write_bytes(phantom_png_bytes(seed=11, age_months=132.0, sex="F"))
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    _log_in(page, live_server.url, "anna")

    page.goto(f"{live_server.url}/studies/new/")
    page.screenshot(path=str(screenshots / "upload.png"))
    report_url = _upload(page, live_server.url, phantom, sex="F", age="132")
    _wait_for_report(page)
    page.screenshot(path=str(screenshots / "report-phantom.png"), full_page=True)
    text = page.inner_text("main")
    assert "Multi-step estimate" in text and "End-to-end estimate" in text
    paths = '.estimate[data-method="multistep"], .estimate[data-method="endtoend"]'
    for section in page.query_selector_all(paths):
        assert not section.query_selector(".rejected"), section.inner_text()
        assert section.query_selector(".note")
    # the combined estimate leads: an age, or in words why there is none
    combined = page.inner_text('.estimate[data-method="combined"]')
    assert "Combined estimate" in combined
    assert "Interval" in combined or "no combined estimate" in combined
    assert "Agreement" in text and "Bone age vs chronological age" in text
    # the report's PDF, through the link the page shows, in the reader's session
    link = page.get_by_role("link", name="The report as a PDF")
    assert "(marked preliminary until signed)" in page.inner_text("main")
    pdf = page.request.get(f"{live_server.url}{link.get_attribute('href')}")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")

    if REAL_XRAY.exists():
        _upload(page, live_server.url, REAL_XRAY, sex="M", age="24")
        _wait_for_report(page)
        page.screenshot(path=str(screenshots / "report-real-xray.png"), full_page=True)
        assert page.locator(".estimate").count() == 2

    page.goto(f"{live_server.url}/studies/")
    page.screenshot(path=str(screenshots / "study-list.png"))

    outsider = chromium.new_page()
    _log_in(outsider, live_server.url, "olaf")
    assert outsider.goto(report_url).status == 404

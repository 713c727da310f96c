"""The pages: upload, report, polling, downloads, review, and no access across institutions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.urls import reverse

from clinic import services
from clinic.models import Review, Study
from tests.clinic.conftest import contract_assessment, fake_assessment


@pytest.fixture
def browser(client, user):
    client.force_login(user)
    return client


def test_pages_need_a_login(client):
    response = client.get(reverse("study-list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_uploading_one_file_lands_on_its_report(browser, upload):
    response = browser.post(
        reverse("study-upload"),
        {"files": [upload()], "sex": "F", "birth_date": "2014-01-01", "exam_date": "2024-01-01"},
    )
    study = Study.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("study-report", args=[study.pk])
    page = browser.get(response["Location"]).content.decode()
    assert "This page updates by itself" in page and "data-poll-url" in page


def test_uploading_several_files_lands_on_their_list(browser, upload):
    response = browser.post(
        reverse("study-upload"), {"files": [upload(), upload(name="b.png")], "sex": "M"}
    )
    ids = sorted(Study.objects.values_list("pk", flat=True))
    assert response["Location"].endswith("?ids=" + ",".join(map(str, ids)))
    page = browser.get(response["Location"]).content.decode()
    assert all(f"#{pk}" in page for pk in ids)


def test_an_unusable_file_is_explained_on_the_form(browser, upload):
    response = browser.post(
        reverse("study-upload"), {"files": [upload(b"not an image")], "sex": "F"}
    )
    assert response.status_code == 200
    assert "hand.png:" in response.content.decode()
    assert not Study.objects.exists()


def test_an_upload_the_storage_refuses_is_explained_on_the_form(
    browser, upload, settings, tmp_path
):
    (tmp_path / "a-file").write_bytes(b"not a folder")
    settings.MEDIA_ROOT = tmp_path / "a-file" / "media"  # the filesystem refuses to create it
    response = browser.post(reverse("study-upload"), {"files": [upload()], "sex": "F"})
    assert response.status_code == 200
    assert "storage refused the file (Not a directory): nothing was stored" in (
        response.content.decode()
    )
    assert not Study.objects.exists()


def test_the_report_shows_both_estimates_notes_and_agreement(browser, done_study):
    page = browser.get(reverse("study-report", args=[done_study.pk])).content.decode()
    assert "Multi-step estimate" in page and "End-to-end estimate" in page
    assert "10 y 1 mo" in page and "9 y 11 mo" in page
    assert "reference table fitted on 400 phantoms" in page
    assert "The two estimates agree" in page and "within normal" in page
    assert "SDS +0.10 (interval −0.9 to +1.1)" in page
    assert "read from the end-to-end estimate" in page and "<td>multi-step</td>" in page
    assert "unet-demo-1.0.0" in page and "data-poll-url" not in page


def test_the_report_lists_every_measured_bone_and_marks_the_outlier(browser, done_study):
    page = browser.get(reverse("study-report", args=[done_study.pk])).content.decode()
    assert "Measurements of the 3 bones found" in page
    assert "metacarpal 5 (outlier)" in page and "0.62 × metacarpal 3" in page
    assert "radius epiphysis" in page and "<td>open</td>" in page
    assert "Bones set aside as outliers: metacarpal 5." in page
    assert "4 % of the segmented bone pixels" in page


def test_a_rejected_path_is_explained_and_not_called_a_disagreement(
    browser, user, upload, fake_engine
):

    data = contract_assessment()
    reason = "The bone segmentation is scattered: 31% of the bone pixels lie in pieces."
    data["multistep"] = {"rejected": reason, "model": data["multistep"]["model"]}
    data["agreement"] = {
        "agree": None,
        "difference_months": None,
        "flag_for_review": True,
        "reason": "Only the end-to-end method gave an estimate: review the study.",
    }
    fake_engine.result = fake_assessment(data)
    study = services.study_create(user=user, file=upload(), sex="F")
    services.run_assessment(study_id=study.pk)
    page = browser.get(reverse("study-report", args=[study.pk])).content.decode()
    assert f"No estimate: {reason}" in page
    assert "No comparison" in page and "disagree" not in page
    assert "Only the end-to-end method gave an estimate" in page


def test_the_status_endpoint_reports_progress(browser, done_study):
    answer = browser.get(reverse("study-status", args=[done_study.pk])).json()
    assert answer == {"id": done_study.pk, "status": "done", "failure_reason": ""}


def test_files_are_served_to_the_institution_only(browser, client, done_study, other_user):
    for kind in ("original", "overlay", "chart"):
        response = browser.get(reverse("study-file", args=[done_study.pk, kind]))
        assert response.status_code == 200
        assert b"".join(response.streaming_content)[:4] == b"\x89PNG"
    client.force_login(other_user)
    for name, args in [
        ("study-report", [done_study.pk]),
        ("study-status", [done_study.pk]),
        ("study-file", [done_study.pk, "original"]),
        ("study-file", [done_study.pk, "chart"]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404


def test_signing_from_the_report_page(browser, done_study):
    url = reverse("study-review", args=[done_study.pk])
    browser.post(url, {"corrected_age_months": "100", "reason": ""})
    assert not Review.objects.exists()
    browser.post(url, {"corrected_age_months": "100", "reason": "carpals mis-segmented"})
    review = Review.objects.get()
    assert (review.decision, review.bone_age_months) == ("corrected", 100)
    page = browser.get(reverse("study-report", args=[done_study.pk])).content.decode()
    assert "carpals mis-segmented" in page


def test_dicom_tags_are_read_back_for_confirmation(browser, upload):
    from tests.boneage.radiograph_files import dicom_bytes

    pixels = (np.random.default_rng(1).random((256, 256)) * 4000).astype(np.uint16)
    data = dicom_bytes(pixels, PatientSex="F", PatientBirthDate="20150601", StudyDate="20240601")
    answer = browser.post(reverse("upload-tags"), {"file": upload(data, "x.dcm")}).json()
    assert answer["source_format"] == "DICOM" and answer["sex"] == "F"
    assert (answer["birth_date"], answer["exam_date"]) == ("2015-06-01", "2024-06-01")
    refused = browser.post(reverse("upload-tags"), {"file": upload(b"junk", "x.dcm")})
    assert refused.status_code == 400 and refused.json()["error"]


def test_a_film_both_paths_rejected_with_a_known_age_still_has_a_report_and_fhir(
    browser, user, upload, fake_engine
):
    """The chronological age is known but there is no estimate to read against it: the page
    says so and the FHIR report carries no interpretation (both once answered 500)."""

    data = contract_assessment()
    reason = "The quality gate does not see an assessable hand: noise."
    data["multistep"] = {"rejected": reason, "model": data["multistep"]["model"]}
    data["endtoend"] = {"rejected": reason, "model": data["endtoend"]["model"]}
    data["agreement"] = {
        "agree": None,
        "difference_months": None,
        "flag_for_review": True,
        "reason": "Neither method gave an estimate: review the study.",
    }
    data["chronological"] = {"age_months": 30.0}
    fake_engine.result = fake_assessment(data)
    study = services.study_create(user=user, file=upload(), sex="F", chronological_age_months=30)
    services.run_assessment(study_id=study.pk)
    response = browser.get(reverse("study-report", args=[study.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "no estimate to read against it" in page and f"No estimate: {reason}" in page
    assert '<span class="status status-no-estimate" id="study-status">done, no estimate' in page
    listed = browser.get(reverse("study-list")).content.decode()
    assert "done, no estimate" in listed
    fhir = browser.get(f"/api/v1/studies/{study.pk}/fhir/")
    assert fhir.status_code == 200
    wire = json.loads(fhir.content)
    assert wire["resourceType"] == "DiagnosticReport"
    assert "no estimate" in wire["conclusion"] and "interpretation" not in fhir.content.decode()


def test_checks_are_titled_in_words(browser, done_study):
    page = browser.get(reverse("study-report", args=[done_study.pk])).content.decode()
    assert "Hand radiograph: hand-like" in page and "is_hand" not in page


def test_the_signed_value_drives_the_reading_on_the_page_and_in_fhir(browser, done_study):
    """A correction to 18 months for a 10-year-old once left "within normal" on the page and in
    the signed FHIR report."""
    url = reverse("study-review", args=[done_study.pk])
    browser.post(url, {"corrected_age_months": "18", "reason": "re-read by hand"})
    page = browser.get(reverse("study-report", args=[done_study.pk])).content.decode()
    assert (
        "Signed bone age 1 y 6 mo" in page and '<strong class="category">delayed</strong>' in page
    )
    wire = json.loads(browser.get(f"/api/v1/studies/{done_study.pk}/fhir/").content)
    reviewed = next(r for r in wire["contained"] if r["id"] == "reviewed")
    assert reviewed["interpretation"][0]["coding"][0]["code"] == "L"
    assert "the signed bone age reads delayed" in wire["conclusion"]


def test_accepting_from_the_report_page_signs_the_chosen_estimate(browser, done_study):
    page = browser.get(reverse("study-report", args=[done_study.pk])).content.decode()
    assert 'value="multistep"' in page and 'value="endtoend"' in page
    assert "leave empty to accept" not in page
    url = reverse("study-review", args=[done_study.pk])
    browser.post(url, {"accept": "multistep"})
    review = Review.objects.get()
    assert (review.accepted_method, review.bone_age_months) == ("multistep", 121.4)


def test_an_asynchrony_between_carpal_and_tubular_bones_is_on_the_report(
    browser, user, upload, fake_engine
):

    data = contract_assessment()
    words = "The carpal bones read 40 months and the tubular bones of the fingers 120: apart."
    data["multistep"]["maturity"] = {
        "carpal": {"age_months": 40.0, "interval_months": [20.0, 60.0]},
        "tubular": {"age_months": 120.0, "interval_months": [105.0, 135.0]},
        "asynchrony": words,
    }
    fake_engine.result = fake_assessment(data)
    study = services.study_create(user=user, file=upload(), sex="F")
    services.run_assessment(study_id=study.pk)
    page = browser.get(reverse("study-report", args=[study.pk])).content.decode()
    assert "Carpal bones alone: 3 y 4 mo" in page and "tubular bones alone: 10 y 0 mo" in page
    assert f'<p class="flag asynchrony">{words}</p>' in page


def test_models_are_named_in_words_with_their_version_and_error(browser, user, upload, fake_engine):
    data = contract_assessment()
    data["models"] = {
        "regression": {
            "id": "cnn-rsna@1.0.0",
            "kind": "regression",
            "architecture": "resnet10t",
            "training_data": {"kind": "rsna-2017-train", "size": 9488},
            "held_out": {"kind": "rsna-2017-val", "size": 2519, "mae_months": 9.7},
            "file_sha256": "0" * 64,
            "created": "2026-12-01",
            "code_version": "0.1.0",
        }
    }
    fake_engine.result = fake_assessment(data)
    study = services.study_create(user=user, file=upload(), sex="F")
    services.run_assessment(study_id=study.pk)
    page = browser.get(reverse("study-report", args=[study.pk])).content.decode()
    assert "End-to-end network, version 1.0.0: measured error 9.7 months on 2519" in page


def test_the_health_check_answers_without_a_login(client, db):
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok\n")


def test_the_health_check_says_503_when_the_database_does_not_answer(client, monkeypatch):
    from django.db import OperationalError, connection

    def unreachable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "ensure_connection", unreachable)
    assert client.get("/healthz").status_code == 503


def test_a_database_outage_is_a_503_with_retry_after_on_pages_and_the_api(browser, monkeypatch):
    """PostgreSQL restarting: the request gets a clean 503; once it answers, the retry works."""
    from django.db import OperationalError

    from clinic import selectors
    from clinic.api import apis

    real = selectors.study_list

    def unreachable(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(selectors, "study_list", unreachable)
    page = browser.get(reverse("study-list"))
    assert page.status_code == 503 and page["Retry-After"] == "30"
    assert "database is not answering" in page.content.decode()
    monkeypatch.setattr(selectors, "study_list", real)
    assert browser.get(reverse("study-list")).status_code == 200

    monkeypatch.setattr(apis, "study_get", unreachable)
    answer = browser.get("/api/v1/studies/1/")
    assert answer.status_code == 503 and answer.json()["code"] == "database_unavailable"


def test_behind_nginx_files_are_handed_over_after_the_institution_check(
    browser, client, done_study, other_user, settings
):
    settings.BONEAGE_MEDIA_ACCEL_PREFIX = "/protected-media/"
    response = browser.get(reverse("study-file", args=[done_study.pk, "original"]))
    assert response["X-Accel-Redirect"] == f"/protected-media/{done_study.original.name}"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response.content == b""
    overlay = browser.get(f"/api/v1/studies/{done_study.pk}/overlay.png")
    assert overlay["X-Accel-Redirect"].endswith("overlay.png")
    client.force_login(other_user)
    response = client.get(reverse("study-file", args=[done_study.pk, "original"]))
    assert response.status_code == 404 and "X-Accel-Redirect" not in response


def test_the_same_film_uploaded_again_on_the_form_is_the_first_study(browser, upload):
    """Each upload of one DICOM once made a study of its own."""
    from tests.boneage.radiograph_files import dicom_bytes, gradient_image

    data = dicom_bytes(gradient_image(), PatientSex="F", AccessionNumber="ACC-4501")
    first = browser.post(reverse("study-upload"), {"files": upload(data, "x.dcm")})
    again = browser.post(reverse("study-upload"), {"files": upload(data, "x.dcm")}, follow=True)
    study = Study.objects.get()
    assert first.url == again.redirect_chain[0][0] == reverse("study-report", args=[study.pk])
    assert f"already uploaded as study {study.pk}" in again.content.decode()


def test_a_contradicted_tag_is_explained_on_the_form_and_can_be_kept(browser, upload):
    from tests.boneage.radiograph_files import dicom_bytes, gradient_image

    data = dicom_bytes(gradient_image(), PatientSex="F")
    refused = browser.post(reverse("study-upload"), {"files": upload(data, "x.dcm"), "sex": "M"})
    assert "does not match the file&#x27;s PatientSex (F)" in refused.content.decode()
    assert not Study.objects.exists()
    kept = browser.post(
        reverse("study-upload"),
        {"files": upload(data, "x.dcm"), "sex": "M", "override_tags": ["sex"]},
        follow=True,
    )
    assert Study.objects.get().sex == "M"
    assert "Overridden tags" in kept.content.decode()


def test_an_age_no_child_has_is_refused_on_the_form(browser, upload):
    """A web-form age of 1e9 was once shown as 83333333 y 4 mo."""
    page = browser.post(
        reverse("study-upload"),
        {"files": upload(), "sex": "F", "chronological_age_months": "1e9"},
    )
    assert "less than or equal to 240" in page.content.decode()
    assert not Study.objects.exists()


def _declared_png(width: int, height: int) -> bytes:
    """A 16-bit grey PNG of ``width`` × ``height`` zeros, compressed row by row (its pixels are
    never all in memory here): about 100 KB that decode to hundreds of MB."""
    import struct
    import zlib

    from tests.boneage.radiograph_files import png_chunk

    packer, row, parts = zlib.compressobj(9), b"\x00" * (1 + 2 * width), []
    parts.extend(packer.compress(row) for _ in range(height))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", b"".join(parts))
        + png_chunk(b"IEND", b"")
    )


def test_the_tags_of_a_dropped_file_are_read_from_its_header_not_its_pixels(browser, upload):
    """A 107 KB PNG declaring 7000 × 7000 at 16 bits once took the web process from 381 to
    1,152 MiB: every pixel was decoded to fill the form."""
    import tracemalloc

    data = _declared_png(7000, 7000)
    tracemalloc.start()
    try:
        answer = browser.post(reverse("upload-tags"), {"file": upload(data, "big.png")})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.status_code == 200 and answer.json()["source_format"] == "PNG"
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_the_report_gives_each_reading_its_odds_the_standard_and_what_was_cut(
    browser, user, upload, fake_engine
):
    data = contract_assessment()
    data["standard"] = "Greulich & Pyle (RSNA 2017 training labels)"
    data["endtoend"]["edge"] = "The 90 % interval reached below birth and is cut at 0."
    odds = {"delayed": 0.71, "within_normal": 0.28, "advanced": 0.01}
    data["chronological"]["by_method"]["endtoend"]["odds"] = odds
    data["chronological"]["sds_note"] = "SDS beyond ±5 are shown as ±5"
    for bone in data["multistep"]["bones"]:
        bone["physis_fused"] = None  # the landmark path reads no physis: no column of dashes
    data["quality"]["checks"].append(
        {"name": "laterality", "passed": False, "detail": "treated as a left hand",
         "informative": True}
    )  # fmt: skip
    fake_engine.result = fake_assessment(data)
    study = services.study_create(user=user, file=upload(), sex="F", chronological_age_months=120)
    services.run_assessment(study_id=study.pk)
    page = browser.get(reverse("study-report", args=[study.pk])).content.decode()
    assert "Bone ages equivalent to Greulich &amp; Pyle (RSNA 2017 training labels)." in page
    assert "71 % / 28 % / 1 %" in page
    assert "SDS beyond ±5 are shown as ±5." in page
    assert "At the edge of the training data: The 90 % interval reached below birth" in page
    assert "a band is named only when it is at least 90 % likely" in page
    # a check that changed nothing the estimates rest on is a note, not a red failure
    assert '<li class="info">ℹ Side: treated as a left hand</li>' in page
    assert "<th>Physis</th>" not in page and "<th>Its own age</th>" in page

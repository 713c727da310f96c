"""``services.study_create``: validate before storing, store once, queue after commit."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from PIL import Image

from boneage.errors import InputError, MissingSex
from clinic import services
from clinic.errors import InvalidStudyData, UploadTooLarge
from clinic.identifiers import identifier_hmac
from clinic.models import Study


def _stored_files() -> list[Path]:
    return [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]


def test_a_valid_upload_is_stored_under_its_sha256_and_queued(user, upload, phantom_png):
    study = services.study_create(
        user=user, file=upload(), sex="F", birth_date=date(2014, 3, 1), exam_date=date(2024, 3, 1)
    )
    assert study.status == Study.Status.QUEUED
    assert study.institution == user.membership.institution
    assert study.source_format == "PNG"
    assert study.original.name.endswith(f"{study.original_sha256}.png")
    assert study.original.read() == phantom_png
    assert study.chronological_age_months == pytest.approx(120.0, abs=0.1)


def test_the_same_file_twice_is_stored_once(user, upload):
    first = services.study_create(user=user, file=upload(), sex="F")
    second = services.study_create(user=user, file=upload(), sex="M")
    assert first.pk != second.pk
    assert first.original.name == second.original.name
    assert len(_stored_files()) == 1


def test_the_assessment_is_enqueued_only_when_the_transaction_commits(
    user, upload, django_capture_on_commit_callbacks, monkeypatch
):
    from clinic import tasks

    sent = []
    monkeypatch.setattr(tasks.assess_study, "delay", lambda study_id: sent.append(study_id))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        study = services.study_create(user=user, file=upload(), sex="F")
    assert sent == [] and len(callbacks) == 1
    callbacks[0]()
    assert sent == [study.pk]


@pytest.mark.parametrize(
    "data",
    [b"", b"%PDF-1.7 not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40],
    ids=["empty", "pdf", "truncated-png"],
)
def test_an_unusable_file_is_refused_and_nothing_is_stored(user, upload, data):
    with pytest.raises(InputError):
        services.study_create(user=user, file=upload(data), sex="F")
    assert Study.objects.count() == 0
    assert _stored_files() == []


def test_a_file_over_the_size_limit_is_refused_before_decoding(user, upload, settings):
    settings.BONEAGE_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(UploadTooLarge, match="limit"):
        services.study_create(user=user, file=upload(), sex="F")
    assert _stored_files() == []


def test_a_too_small_image_is_refused(user, upload):
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((16, 16), dtype=np.uint8)).save(buffer, format="PNG")
    with pytest.raises(InputError):
        services.study_create(user=user, file=upload(buffer.getvalue()), sex="F")


def test_sex_is_required_when_the_file_has_none(user, upload):
    with pytest.raises(MissingSex):
        services.study_create(user=user, file=upload())
    assert _stored_files() == []


def test_an_exam_before_birth_is_refused(user, upload):
    with pytest.raises(InvalidStudyData):
        services.study_create(
            user=user, file=upload(), sex="F", birth_date=date(2020, 1, 1),
            exam_date=date(2019, 1, 1),
        )  # fmt: skip


def test_identifiers_are_kept_for_display_and_as_keyed_hashes_for_search(user, upload):
    study = services.study_create(
        user=user, file=upload(), sex="F", patient_id=" P-12345 ", accession_number="ACC9"
    )
    assert (study.patient_id, study.accession_number) == ("P-12345", "ACC9")
    assert study.patient_id_hmac == identifier_hmac("P-12345")
    assert identifier_hmac("P-12345") != identifier_hmac("P-12346")


def test_the_same_idempotency_key_returns_the_first_study(user, upload):
    first = services.study_create(user=user, file=upload(), sex="F", idempotency_key="k1")
    again = services.study_create(user=user, file=upload(), sex="F", idempotency_key="k1")
    assert again.pk == first.pk
    assert Study.objects.count() == 1


def test_a_dicom_supplies_sex_and_dates_from_its_tags(user, upload):
    from tests.boneage.radiograph_files import dicom_bytes

    pixels = (np.random.default_rng(0).random((256, 256)) * 4000).astype(np.uint16)
    data = dicom_bytes(pixels, PatientSex="M", PatientBirthDate="20140301", StudyDate="20240301")
    study = services.study_create(user=user, file=upload(data, "study.dcm"))
    assert (study.sex, study.source_format) == ("M", "DICOM")
    assert study.birth_date == date(2014, 3, 1) and study.exam_date == date(2024, 3, 1)
    assert study.chronological_age_months == pytest.approx(120.0, abs=0.1)


def test_a_birth_or_exam_date_in_the_future_is_refused(user, upload):
    future = date.today() + timedelta(days=2)
    for dates in ({"birth_date": future}, {"exam_date": future}):
        with pytest.raises(InvalidStudyData, match="in the future"):
            services.study_create(user=user, file=upload(), sex="F", **dates)
    assert not Study.objects.exists()


def test_dates_and_an_age_of_two_different_children_are_refused(user, upload):
    dates = {"birth_date": date(2014, 1, 1), "exam_date": date(2024, 1, 1)}  # 120 months
    with pytest.raises(InvalidStudyData, match="dates give an age of 120.0 months"):
        services.study_create(
            user=user, file=upload(), sex="F", chronological_age_months=30, **dates
        )
    assert not Study.objects.exists()
    study = services.study_create(
        user=user, file=upload(), sex="F", chronological_age_months=120.4, **dates
    )
    assert study.chronological_age_months == pytest.approx(120.4)


def test_the_patient_is_read_from_dicom_shown_and_searchable(user, upload, client):
    from django.urls import reverse

    from tests.boneage.radiograph_files import dicom_bytes

    pixels = (np.random.default_rng(2).random((256, 256)) * 4000).astype(np.uint16)
    data = dicom_bytes(
        pixels, PatientSex="F", PatientID="MRN-77", PatientName="ROE^ANNA", AccessionNumber="A-9"
    )
    study = services.study_create(user=user, file=upload(data, "x.dcm"))
    assert (study.patient_id, study.patient_name, study.accession_number) == (
        "MRN-77",
        "ROE, ANNA",
        "A-9",
    )
    client.force_login(user)
    page = client.get(reverse("study-report", args=[study.pk])).content.decode()
    assert "ROE, ANNA" in page and "MRN-77" in page and "A-9" in page
    for query in ("MRN-77", "A-9", "roe"):
        listed = client.get(reverse("study-list"), {"q": query}).content.decode()
        assert f"#{study.pk}" in listed


def test_an_identifier_the_file_contradicts_is_refused(user, upload):
    from tests.boneage.radiograph_files import dicom_bytes

    pixels = (np.random.default_rng(3).random((256, 256)) * 4000).astype(np.uint16)
    data = dicom_bytes(pixels, PatientSex="F", PatientID="MRN-77")
    with pytest.raises(InvalidStudyData, match=r"patient ID given \(MRN-78\) does not match"):
        services.study_create(user=user, file=upload(data, "x.dcm"), patient_id="MRN-78")
    assert not Study.objects.exists()

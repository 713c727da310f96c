"""``services.study_submit``: what the file's tags say is never overruled in silence, a repeated
examination or image is the earlier study, and ages are those of a child."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from clinic import engine, services
from clinic.errors import InvalidStudyData, SubmissionConflict
from clinic.models import Study
from tests.boneage.radiograph_files import dicom_bytes


def _stored_files() -> list[Path]:
    return [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]


def _dicom(seed: int = 0, **tags: object) -> bytes:
    pixels = (np.random.default_rng(seed).random((256, 256)) * 4000).astype(np.uint16)
    return dicom_bytes(pixels, **{"PatientSex": "F", **tags})


@pytest.mark.parametrize(
    ("given", "tags", "words"),
    [
        ({"sex": "M"}, {}, "sex given (M) does not match the file's PatientSex (F)"),
        (
            {"birth_date": date(2015, 6, 1)},
            {"PatientBirthDate": "20140301"},
            "birth date given (2015-06-01) does not match the file's PatientBirthDate (2014-03-01)",
        ),
        (
            {"exam_date": date(2024, 6, 1)},
            {"StudyDate": "20240301"},
            "exam date given (2024-06-01) does not match the file's StudyDate (2024-03-01)",
        ),
        (
            {"accession_number": "ACC-1"},
            {"AccessionNumber": "ACC-4501"},
            "accession number given (ACC-1) does not match the file's AccessionNumber (ACC-4501)",
        ),
        (
            {"patient_id": "MRN-78"},
            {"PatientID": "MRN-77"},
            "patient ID given (MRN-78) does not match the file's PatientID (MRN-77)",
        ),
    ],
    ids=["sex", "birth_date", "exam_date", "accession_number", "patient_id"],
)
def test_a_value_the_files_tag_contradicts_is_refused_naming_both_and_the_override(
    user, upload, given, tags, words
):
    with pytest.raises(InvalidStudyData) as refusal:
        services.study_create(user=user, file=upload(_dicom(**tags), "x.dcm"), **given)
    assert words in str(refusal.value)
    assert f"override_tags={next(iter(given))}" in str(refusal.value)
    assert not Study.objects.exists() and _stored_files() == []


def test_two_contradictions_are_named_together(user, upload):
    data = _dicom(PatientBirthDate="20140301")
    with pytest.raises(InvalidStudyData, match="override_tags=sex,birth_date"):
        services.study_create(
            user=user, file=upload(data, "x.dcm"), sex="M", birth_date=date(2015, 1, 1)
        )


def test_an_override_on_purpose_files_the_value_given_and_says_so(user, upload, client):
    from django.urls import reverse

    study = services.study_create(
        user=user, file=upload(_dicom(), "x.dcm"), sex="M", override_tags=["sex"]
    )
    assert study.sex == "M"
    assert study.tag_overrides == [
        "Sex given (M) was kept over the file's PatientSex (F), on purpose."
    ]
    client.force_login(user)
    page = client.get(reverse("study-report", args=[study.pk])).content.decode()
    assert "kept over the file&#x27;s PatientSex (F), on purpose" in page


def test_an_unknown_override_is_refused_with_the_known_ones(user, upload):
    with pytest.raises(InvalidStudyData, match="override_tags names weight"):
        services.study_create(user=user, file=upload(_dicom(), "x.dcm"), override_tags=["weight"])


def test_a_value_that_agrees_with_the_tag_needs_no_override(user, upload):
    data = _dicom(PatientBirthDate="20140301", StudyDate="20240301")
    study = services.study_create(
        user=user, file=upload(data, "x.dcm"), sex="F", birth_date=date(2014, 3, 1)
    )
    assert study.tag_overrides == [] and study.sex == "F"


def test_the_same_dicom_posted_again_without_fields_is_the_first_study(user, upload):
    data = _dicom(AccessionNumber="ACC-4501")
    first = services.study_submit(user=user, file=upload(data, "x.dcm"))
    for _ in range(3):
        again = services.study_submit(user=user, file=upload(data, "x.dcm"))
        assert (again.study.pk, again.created) == (first.study.pk, False)
    assert first.created and Study.objects.count() == 1


def test_the_same_instance_without_an_accession_number_is_the_first_study(user, upload):
    data = _dicom(seed=1)
    first = services.study_create(user=user, file=upload(data, "x.dcm"))
    assert first.sop_instance_uid
    assert services.study_create(user=user, file=upload(data, "y.dcm")).pk == first.pk
    assert Study.objects.count() == 1


def test_an_accession_number_in_the_tags_with_another_image_is_a_conflict(user, upload):
    services.study_create(user=user, file=upload(_dicom(seed=1, AccessionNumber="A-1"), "x.dcm"))
    with pytest.raises(SubmissionConflict, match="accession number already names study"):
        services.study_create(
            user=user, file=upload(_dicom(seed=2, AccessionNumber="A-1"), "y.dcm")
        )
    assert Study.objects.count() == 1


def test_another_institutions_instance_is_not_a_repeat(user, other_user, upload):
    data = _dicom(seed=1, AccessionNumber="A-1")
    mine = services.study_create(user=user, file=upload(data, "x.dcm"))
    theirs = services.study_create(user=other_user, file=upload(data, "x.dcm"))
    assert mine.pk != theirs.pk


def test_a_repeated_idempotency_key_with_another_sex_is_a_conflict(user, upload):
    services.study_create(user=user, file=upload(), sex="F", idempotency_key="k1")
    with pytest.raises(SubmissionConflict, match="Idempotency-Key already names study"):
        services.study_create(user=user, file=upload(), sex="M", idempotency_key="k1")


def test_a_key_that_races_in_from_a_parallel_request_answers_with_the_winner(
    user, upload, monkeypatch
):
    real_read, winner = engine.read_radiograph, []

    def read_while_another_request_wins(data: bytes):
        monkeypatch.setattr(engine, "read_radiograph", real_read)
        winner.append(services.study_create(user=user, file=upload(), sex="F", idempotency_key="k"))
        return real_read(data)

    monkeypatch.setattr(engine, "read_radiograph", read_while_another_request_wins)
    submission = services.study_submit(user=user, file=upload(), sex="F", idempotency_key="k")
    assert (submission.study.pk, submission.created) == (winner[0].pk, False)
    assert Study.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "tags", "words"),
    [
        (
            {"birth_date": date(1, 1, 1), "exam_date": date(2024, 3, 1)},
            {},
            "The date of birth 0001-01-01 and the exam date 2024-03-01 give an age that is 24277",
        ),
        ({"chronological_age_months": 1e9}, {}, "The chronological age given is 1000000000"),
        ({"chronological_age_months": 241}, {}, "The chronological age given is 241"),
        ({}, {"PatientAge": "999Y"}, "The file's DICOM PatientAge is 11988 months"),
    ],
    ids=["birth-date-0001", "age-1e9", "age-241", "patient-age-999Y"],
)
def test_an_age_no_child_has_is_refused_in_words(user, upload, fields, tags, words):
    with pytest.raises(InvalidStudyData, match="ages from 0 to 240 months") as refusal:
        services.study_create(user=user, file=upload(_dicom(**tags), "x.dcm"), **fields)
    assert words in str(refusal.value)
    assert not Study.objects.exists() and _stored_files() == []


@pytest.mark.parametrize("age", [0, 240])
def test_the_ends_of_the_age_range_are_ages(user, upload, age):
    study = services.study_create(user=user, file=upload(), sex="F", chronological_age_months=age)
    assert study.chronological_age_months == age

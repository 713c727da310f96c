"""A received hand radiograph becomes a study as an upload does; anything else is refused in words
and nothing is stored (clinic.pacs.receiving, in process)."""

from __future__ import annotations

from io import BytesIO

import pydicom
import pytest
from pydicom.uid import BasicTextSRStorage, generate_uid

from clinic.models import Study
from clinic.pacs.receiving import Refused, receive

pytestmark = pytest.mark.django_db


def _dataset(data: bytes) -> pydicom.Dataset:
    return pydicom.dcmread(BytesIO(data))


def _stored_files(settings) -> list:
    return [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]


def test_a_hand_film_becomes_a_study_from_its_tags_and_twice_is_one(user, hand_dicom, settings):
    data = hand_dicom(sex="M", PatientID="MRN7", AccessionNumber="A77")
    dataset = _dataset(data)
    first = receive(dataset=dataset, user=user, data=data)
    again = receive(dataset=_dataset(data), user=user, data=data)
    assert first.created and not again.created and again.study.pk == first.study.pk
    study = Study.objects.get()
    assert (study.sex, study.patient_id, study.accession_number) == ("M", "MRN7", "A77")
    assert study.study_instance_uid == dataset.StudyInstanceUID
    assert study.sop_instance_uid == dataset.SOPInstanceUID
    assert str(study.birth_date) == "2015-01-01" and str(study.exam_date) == "2025-01-01"
    assert study.institution == user.membership.institution and study.status == "queued"


def test_a_cr_film_without_body_part_is_taken(user, hand_dicom):
    data = hand_dicom(Modality="CR", BodyPartExamined="")
    assert receive(dataset=_dataset(data), user=user, data=data).created


def _without_pixels(data: bytes) -> pydicom.Dataset:
    dataset = _dataset(data)
    del dataset.PixelData
    return dataset


def _multi_frame(data: bytes) -> pydicom.Dataset:
    dataset = _dataset(data)
    dataset.NumberOfFrames = 3
    return dataset


def _sr(data: bytes) -> pydicom.Dataset:
    dataset = _dataset(data)
    del dataset.PixelData
    dataset.Modality, dataset.SOPClassUID = "SR", BasicTextSRStorage
    dataset.SOPInstanceUID = generate_uid()
    return dataset


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: _with(d, BodyPartExamined="CHEST"), "body part examined is CHEST"),
        (lambda d: _with(d, Modality="CT"), "modality is CT"),
        (_multi_frame, "3 frames"),
        (_without_pixels, "no pixel data"),
        (_sr, "structured report"),
    ],
    ids=["chest", "ct", "multi-frame", "no-pixels", "sr"],
)
def test_anything_else_is_refused_in_words_and_nothing_is_stored(
    user, hand_dicom, settings, make, words
):
    dataset = make(hand_dicom())
    with pytest.raises(Refused, match=words) as refused:
        receive(dataset=dataset, user=user)
    assert "nothing was stored" in refused.value.reason
    assert len(refused.value.comment) <= 64 and refused.value.comment.startswith("refused")
    assert Study.objects.count() == 0 and _stored_files(settings) == []


def _with(data: bytes, **tags: object) -> pydicom.Dataset:
    dataset = _dataset(data)
    for keyword, value in tags.items():
        setattr(dataset, keyword, value)
    return dataset


def test_a_film_the_engine_cannot_read_is_refused_with_the_engines_words(user, hand_dicom):
    dataset = _dataset(hand_dicom())
    dataset.PatientSex = ""
    with pytest.raises(Refused, match="Sex is needed"):
        receive(dataset=dataset, user=user)
    assert Study.objects.count() == 0

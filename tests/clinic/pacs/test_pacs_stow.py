"""DICOMweb both ways: our STOW-RS endpoint takes hand films by token (each refused one named in
the reply with its reason), and a STOW-RS destination (Orthanc's DICOMweb plugin) gets a PNG
study's results in a new study of their own."""

from __future__ import annotations

import json
import uuid
from io import BytesIO

import pydicom
import pytest
from rest_framework.test import APIClient

from clinic.api.tokens import api_token_create
from clinic.models import Study
from clinic.pacs.models import Delivery, DicomNode
from clinic.pacs.results import delivery_results, study_uid
from clinic.pacs.sending import SendFailed, stow

STOW = "/api/dicomweb/studies"


def _multipart(*files: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        b"".join(
            f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + data + b"\r\n"
            for data in files
        )
        + f"--{boundary}--\r\n".encode()
    )
    return body, f'multipart/related; type="application/dicom"; boundary={boundary}'


@pytest.fixture
def api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, name='pacs')[1]}")
    return client


def _post(client: APIClient, *files: bytes):
    body, content_type = _multipart(*files)
    return client.generic("POST", STOW, body, content_type=content_type)


@pytest.mark.django_db
def test_stow_stores_hand_films_and_names_each_refusal(api, user, hand_dicom):
    good = hand_dicom(AccessionNumber="STOW1")
    chest = hand_dicom(BodyPartExamined="CHEST")
    response = _post(api, good, chest)
    assert response.status_code == 202 and response["Content-Type"] == "application/dicom+json"
    reply = json.loads(response.content)
    (taken,) = reply["00081199"]["Value"]
    (failed,) = reply["00081198"]["Value"]
    assert taken["00081155"]["Value"] == [pydicom.dcmread(BytesIO(good)).SOPInstanceUID]
    assert failed["00081155"]["Value"] == [pydicom.dcmread(BytesIO(chest)).SOPInstanceUID]
    assert failed["00081197"]["Value"] == [0xC000]
    assert "body part examined is CHEST" in failed["00000902"]["Value"][0]
    (study,) = Study.objects.all()
    assert study.accession_number == "STOW1" and study.institution == user.membership.institution


@pytest.mark.django_db
def test_stow_with_nothing_acceptable_is_409_and_stores_nothing(api, hand_dicom):
    response = _post(api, hand_dicom(Modality="MR"), b"not dicom at all")
    assert response.status_code == 409
    reasons = [i["00000902"]["Value"][0] for i in json.loads(response.content)["00081198"]["Value"]]
    assert "modality is MR" in reasons[0] and "not a DICOM file" in reasons[1]
    assert Study.objects.count() == 0


@pytest.mark.django_db
def test_stow_needs_a_token_and_a_multipart_body(api, hand_dicom):
    body, content_type = _multipart(hand_dicom())
    assert APIClient().generic("POST", STOW, body, content_type=content_type).status_code == 401
    assert api.generic("POST", STOW, b"x", content_type="application/dicom").status_code == 415
    assert api.generic("POST", STOW, b"x", content_type="multipart/related").status_code == 400
    assert Study.objects.count() == 0


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_png_studys_results_reach_a_stow_destination_in_a_new_study(orthanc, done_study):
    node = DicomNode.objects.create(
        institution=done_study.institution, name="DICOMweb", role="destination",
        stow_url=f"{orthanc.url}/dicom-web",
    )  # fmt: skip
    delivery = Delivery.objects.create(
        study=done_study, destination=node, kind="unsigned", sr_series_uid="1.2.3.1",
        sr_instance_uid="1.2.3.2", sc_series_uid="1.2.3.3", sc_instance_uid="1.2.3.4",
    )  # fmt: skip
    stow(node.stow_url, delivery_results(delivery))
    modalities = sorted(i["Modality"] for i in orthanc.instances_of_study(study_uid(done_study)))
    assert modalities == ["OT", "SR"]
    with pytest.raises(SendFailed, match="no answer"):
        orthanc.stop()
        stow(node.stow_url, delivery_results(delivery))

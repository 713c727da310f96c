"""``/api/v1/studies/``: upload, list, read, images, idempotency, scoping; rejects store nothing."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from rest_framework.test import APIClient

from clinic.models import Study
from clinic.signing import review_sign
from tests.clinic.api.conftest import multipart_png, stored_files
from tests.clinic.conftest import contract_assessment, png_bytes

LIST = "/api/v1/studies/"


def _post(client: APIClient, image: bytes, **fields: Any) -> Any:
    headers = {}
    if "idempotency_key" in fields:
        headers["HTTP_IDEMPOTENCY_KEY"] = fields.pop("idempotency_key")
    return client.post(
        LIST, {"image": multipart_png(image), **fields}, format="multipart", **headers
    )


def test_an_upload_is_stored_and_queued_201_with_its_urls(api: APIClient, phantom_png, user):
    response = _post(api, phantom_png, sex="F", birth_date="2014-03-01", exam_date="2024-03-01")
    assert response.status_code == 201
    body = response.json()
    study = Study.objects.get(pk=body["id"])
    assert study.institution == user.membership.institution
    assert body["status"] == "queued"
    assert body["chronological_age_months"] == pytest.approx(120.0, abs=0.1)
    assert body["report"] is None and body["review"] is None
    assert response["Location"] == body["urls"]["self"]
    assert body["urls"]["self"].endswith(f"/api/v1/studies/{study.pk}/")
    assert body["urls"]["fhir"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"sex": "X"}, "sex"),
        ({"sex": "F", "birth_date": "yesterday"}, "birth_date"),
        ({"sex": "F", "chronological_age_months": "-3"}, "chronological_age_months"),
        ({}, "sex"),  # a PNG carries no sex tag
    ],
)
def test_bad_metadata_is_400_with_field_errors_and_stores_nothing(
    api: APIClient, phantom_png, fields: dict[str, str], field: str
):
    before = stored_files()
    response = _post(api, phantom_png, **fields)
    assert response.status_code == 400
    assert field in response.json()
    assert Study.objects.count() == 0 and stored_files() == before


def test_an_exam_before_birth_is_400(api: APIClient, phantom_png):
    response = _post(api, phantom_png, sex="F", birth_date="2020-01-01", exam_date="2019-01-01")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_study_data"
    assert Study.objects.count() == 0


def test_a_file_over_the_size_limit_is_413_and_stores_nothing(
    api: APIClient, phantom_png, settings: Any
):
    settings.BONEAGE_MAX_UPLOAD_BYTES = len(phantom_png) - 1
    before = stored_files()
    response = _post(api, phantom_png, sex="F")
    assert response.status_code == 413
    assert response.json()["code"] == "upload_too_large"
    assert Study.objects.count() == 0 and stored_files() == before


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4 not an image at all",
        png_bytes(np.zeros((600, 600), dtype=np.uint8))[:200],  # truncated PNG
    ],
    ids=["pdf", "truncated-png"],
)
def test_an_unsupported_or_undecodable_file_is_415_and_stores_nothing(api: APIClient, data: bytes):
    before = stored_files()
    response = _post(api, data, sex="F")
    assert response.status_code == 415, response.json()
    assert Study.objects.count() == 0 and stored_files() == before


def test_an_upload_the_storage_refuses_is_503_and_stores_nothing(
    api: APIClient, phantom_png, settings: Any, tmp_path: Any
):
    """The media folder lies under a plain file, so the real filesystem refuses to create it."""
    (tmp_path / "a-file").write_bytes(b"not a folder")
    settings.MEDIA_ROOT = tmp_path / "a-file" / "media"
    response = _post(api, phantom_png, sex="F")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert response.json()["code"] == "storage_unavailable"
    assert "refused the file (Not a directory): nothing was stored" in response.json()["detail"]
    assert Study.objects.count() == 0

    settings.MEDIA_ROOT = tmp_path / "media"  # the storage is back: the same upload is accepted
    assert _post(api, phantom_png, sex="F").status_code == 201


def test_an_empty_file_is_400_on_the_image_field(api: APIClient):
    response = _post(api, b"", sex="F")
    assert response.status_code == 400
    assert "image" in response.json()
    assert Study.objects.count() == 0


def test_a_json_body_is_415(api: APIClient):
    response = api.post(LIST, {"sex": "F"}, format="json")
    assert response.status_code == 415


def test_a_repeated_idempotency_key_returns_the_first_study_200(api: APIClient, phantom_png):
    first = _post(api, phantom_png, sex="F", idempotency_key="upload-42")
    again = _post(api, phantom_png, sex="F", idempotency_key="upload-42")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Study.objects.count() == 1


def test_an_overlong_idempotency_key_is_400(api: APIClient, phantom_png):
    response = _post(api, phantom_png, sex="F", idempotency_key="k" * 256)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()


def test_a_repeated_accession_number_returns_the_first_study_in_the_institution_only(
    api: APIClient, phantom_png, client_for: Callable[[Any], APIClient], other_user: Any
):
    first = _post(api, phantom_png, sex="F", accession_number="ACC-7")
    again = _post(api, phantom_png, sex="F", accession_number=" ACC-7 ")
    elsewhere = _post(client_for(other_user), phantom_png, sex="F", accession_number="ACC-7")
    assert (first.status_code, again.status_code, elsewhere.status_code) == (201, 200, 201)
    assert again.json()["id"] == first.json()["id"] != elsewhere.json()["id"]


def test_the_list_shows_only_the_callers_institution_and_paginates(
    api: APIClient, make_study: Callable[..., Study], user: Any, other_user: Any
):
    mine = [make_study(user).pk for _ in range(3)]
    make_study(other_user)
    page = api.get(LIST, {"limit": 2}).json()
    assert page["count"] == 3
    assert [study["id"] for study in page["results"]] == sorted(mine, reverse=True)[:2]
    rest = api.get(page["next"]).json()
    assert [study["id"] for study in rest["results"]] == [min(mine)]


def test_the_list_filters_by_status_accession_number_and_creation_time(
    api: APIClient, make_study: Callable[..., Study], done_study: Study, user: Any
):
    queued = make_study(user, accession_number="ACC-2")
    Study.objects.filter(pk=queued.pk).update(created_at=done_study.created_at - timedelta(days=2))

    def ids(**query: str) -> list[int]:
        return [study["id"] for study in api.get(LIST, query).json()["results"]]

    assert ids(status="done") == [done_study.pk]
    assert ids(status="queued") == [queued.pk]
    assert ids(accession_number="ACC-2") == [queued.pk]
    assert ids(accession_number="ACC-none") == []
    cutoff = (done_study.created_at - timedelta(days=1)).isoformat()
    assert ids(created_after=cutoff) == [done_study.pk]
    assert ids(created_before=cutoff) == [queued.pk]
    assert api.get(LIST, {"status": "lost"}).status_code == 400


def test_a_done_study_carries_the_report_as_the_cli_prints_it_and_its_review(
    api: APIClient, done_study: Study, user: Any
):
    body = api.get(f"{LIST}{done_study.pk}/").json()
    assert body["status"] == "done"
    assert body["report"] == contract_assessment()
    assert body["review"] is None
    review_sign(report=done_study.report, reviewer=user, corrected_age_months=130.0, reason="TW3")
    review = api.get(f"{LIST}{done_study.pk}/").json()["review"]
    assert review["decision"] == "corrected"
    assert review["bone_age_months"] == 130.0
    assert review["reason"] == "TW3"
    assert review["reviewer"] == user.username
    assert review["accepted_method"] == "" and review["reading"] is None  # no chronological age
    done_study.chronological_age_months = 60.0
    done_study.save()
    reading = api.get(f"{LIST}{done_study.pk}/").json()["review"]["reading"]
    assert reading["category"] == "advanced" and reading["bone_age_months"] == 130.0


@pytest.mark.parametrize("name", ["overlay.png", "chart.png"])
def test_the_report_images_are_pngs(api: APIClient, done_study: Study, name: str):
    response = api.get(f"{LIST}{done_study.pk}/{name}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("suffix", ["overlay.png", "chart.png", "fhir/"])
def test_a_queued_study_has_no_images_and_no_fhir_yet(
    api: APIClient, make_study: Callable[..., Study], user: Any, suffix: str
):
    study = make_study(user)
    response = api.get(f"{LIST}{study.pk}/{suffix}")
    assert response.status_code == (409 if suffix == "fhir/" else 404)


@pytest.mark.parametrize("suffix", ["", "overlay.png", "chart.png", "fhir/"])
def test_another_institutions_study_is_404_everywhere(
    client_for: Callable[[Any], APIClient], other_user: Any, done_study: Study, suffix: str
):
    response = client_for(other_user).get(f"{LIST}{done_study.pk}/{suffix}")
    assert response.status_code == 404
    body = json.loads(response.content)
    if suffix == "fhir/":  # a FHIR OperationOutcome
        assert body["issue"][0]["code"] == "not-found"
    else:
        assert body["code"] == "not_found"


def test_a_user_of_the_same_institution_sees_the_study(
    make_user: Callable[..., Any], user: Any, done_study: Study, client_for: Callable[..., Any]
):
    colleague = make_user("colleague", user.membership.institution)
    assert client_for(colleague).get(f"{LIST}{done_study.pk}/").status_code == 200


def test_a_dicom_upload_takes_sex_and_dates_from_its_tags(api: APIClient):
    from tests.boneage.radiograph_files import dicom_bytes, gradient_image

    dicom = dicom_bytes(gradient_image(), PatientSex="M", PatientBirthDate="20150101",
                        StudyDate="20250101")  # fmt: skip
    response = api.post(LIST, {"image": io.BytesIO(dicom)}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["sex"], body["source_format"]) == ("M", "DICOM")
    assert body["birth_date"] == "2015-01-01"
    assert body["chronological_age_months"] == pytest.approx(120.0, abs=0.1)


def test_options_describes_the_upload_fields(api: APIClient):
    """``OPTIONS`` once answered 500: the view had no serializer for DRF to describe."""
    response = api.options("/api/v1/studies/")
    assert response.status_code == 200
    fields = response.json()["actions"]["POST"]
    assert {"image", "sex", "birth_date", "patient_id"} <= set(fields)
    assert fields["image"]["required"] is True


def test_a_reused_key_is_422_and_a_repeated_accession_number_409_with_another_image_or_sex(
    api: APIClient, phantom_png
):
    """Both once returned the older study silently; a reused key was then 409, where the IETF
    Idempotency-Key draft asks for 422 (409 is for a request still being processed)."""
    first = _post(api, phantom_png, sex="F", idempotency_key="k-1", accession_number="ACC-9")
    assert first.status_code == 201
    other_image = bytearray(phantom_png)
    other_image[-20] ^= 0xFF  # in the PNG's trailing bytes: another file, same picture size
    for kwargs, answer in (
        ({"sex": "M", "idempotency_key": "k-1"}, (422, "idempotency_key_reused")),
        (
            {"sex": "F", "idempotency_key": "k-1", "png": bytes(other_image)},
            (422, "idempotency_key_reused"),
        ),
        ({"sex": "M", "accession_number": "ACC-9"}, (409, "submission_conflict")),
    ):
        png = kwargs.pop("png", phantom_png)
        response = _post(api, png, **kwargs)
        assert (response.status_code, response.json()["code"]) == answer
        assert f"study {first.json()['id']}" in response.json()["detail"]
    assert Study.objects.count() == 1


def _dicom(**tags: Any) -> bytes:
    from tests.boneage.radiograph_files import dicom_bytes, gradient_image

    return dicom_bytes(gradient_image(), **{"PatientSex": "F", **tags})


def test_a_sex_the_tags_contradict_is_400_until_overridden_and_the_override_is_stated(
    api: APIClient,
):
    """It was once filed as male in silence: estimates moved by two years."""
    dicom = _dicom(AccessionNumber="ACC-4501")
    refused = api.post(LIST, {"image": io.BytesIO(dicom), "sex": "M"}, format="multipart")
    assert refused.status_code == 400
    assert refused.json()["code"] == "tag_contradiction"
    assert "sex given (M) does not match the file's PatientSex (F)" in refused.json()["detail"]
    assert "override_tags=sex" in refused.json()["detail"]
    assert not Study.objects.exists() and stored_files() == []
    kept = api.post(
        LIST,
        {"image": io.BytesIO(dicom), "sex": "M", "override_tags": "sex"},
        format="multipart",
    )
    assert kept.status_code == 201, kept.json()
    detail = api.get(kept.json()["urls"]["self"]).json()
    assert detail["sex"] == "M"
    assert detail["tag_overrides"] == [
        "Sex given (M) was kept over the file's PatientSex (F), on purpose."
    ]


def test_the_same_dicom_posted_four_times_without_fields_is_one_study(api: APIClient):
    """Four studies of accession ACC-4501 were once made."""
    dicom = _dicom(AccessionNumber="ACC-4501")
    answers = [api.post(LIST, {"image": io.BytesIO(dicom)}, format="multipart") for _ in range(4)]
    assert [answer.status_code for answer in answers] == [201, 200, 200, 200]
    assert {answer.json()["id"] for answer in answers} == {answers[0].json()["id"]}
    assert Study.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"birth_date": "0001-01-01", "exam_date": "2024-03-01"}, "ages from 0 to 240 months"),
        ({"chronological_age_months": "241"}, "240"),
    ],
)
def test_an_age_no_child_has_is_400(api: APIClient, phantom_png, fields, words):
    response = _post(api, phantom_png, sex="F", **fields)
    assert response.status_code == 400
    assert words in json.dumps(response.json())
    assert not Study.objects.exists()


def test_each_signature_shows_its_own_reading(api: APIClient, done_study: Study, user: Any):
    """Every signature once showed the latest one's reading."""
    done_study.chronological_age_months = 120.0
    done_study.save()
    review_sign(report=done_study.report, reviewer=user, accept="multistep")
    review_sign(report=done_study.report, reviewer=user, corrected_age_months=160.0, reason="TW3")
    first, second = api.get(f"{LIST}{done_study.pk}/").json()["signatures"]
    assert first["reading"]["bone_age_months"] == first["bone_age_months"] == 121.4
    assert first["reading"]["category"] == "within normal"
    assert second["reading"]["bone_age_months"] == 160.0
    assert second["reading"]["category"] == "advanced"

"""The upload endpoint at volume: mutated and truncated PNG, JPEG and DICOM files posted through
the API. Each is either accepted as a queued study (or, the same instance again, answered with
the earlier study) or refused with a 4xx and its reason in words, and a refusal stores nothing:
no study row, no file in the media folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from clinic.models import Study
from tests.boneage.fuzz_files import FUZZ_SCALE, mutated

pytestmark = pytest.mark.django_db

NAMES = st.sampled_from(["hand.png", "hand.jpg", "hand.dcm", "hand", "../../etc/passwd", "é.png"])


def _files(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


def test_bad_uploads_are_refused_in_words_and_store_nothing(api: Any, settings: Any):
    media = Path(settings.MEDIA_ROOT)
    answers: dict[int, int] = {}

    @examples(
        max_examples=60 * FUZZ_SCALE,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(data=mutated(), name=NAMES, sex=st.sampled_from(["F", "M"]))
    def post(data: bytes, name: str, sex: str) -> None:
        studies, files = Study.objects.count(), _files(media)
        image = {"image": _named(data, name), "sex": sex}
        answer = api.post("/api/v1/studies/", image, format="multipart")
        answers[answer.status_code] = answers.get(answer.status_code, 0) + 1
        if answer.status_code == 201:
            assert Study.objects.filter(pk=answer.json()["id"], status="queued").exists()
            return
        if answer.status_code == 200:  # the same instance again: the earlier study, not a new one
            assert Study.objects.filter(pk=answer.json()["id"]).exists()
            assert (Study.objects.count(), _files(media)) == (studies, files)
            return
        assert 400 <= answer.status_code < 500, answer.content[:300]
        reason = answer.json()  # {"detail": …} or DRF's {"field": [reasons]}
        assert len(str(reason.get("detail") or reason)) > 20, reason
        assert (Study.objects.count(), _files(media)) == (studies, files)

    post()
    assert set(answers) - {200, 201} and answers.get(500) is None  # refusals were reached


def _named(data: bytes, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)

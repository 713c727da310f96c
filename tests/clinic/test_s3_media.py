"""Media on S3-compatible storage (``BONEAGE_S3_BUCKET``): the upload, the worker's reading of it
and the report's files all go through the bucket, and the scoped views stream them from there.
The bucket is moto's in-process S3; nothing is written to the media folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from clinic import services

BUCKET = "clinic-media"

pytestmark = pytest.mark.django_db


@pytest.fixture
def s3(settings, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {"bucket_name": BUCKET, "default_acl": "private"},
            },
        }
        yield client


def _keys(client) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_a_study_is_stored_assessed_and_served_from_the_bucket(
    s3, user, upload, fake_engine, client, phantom_png, settings
) -> None:
    study = services.study_create(user=user, file=upload(), sex="F", chronological_age_months=96)
    assert _keys(s3) == [study.original.name]
    services.run_assessment(study_id=study.pk)
    study.refresh_from_db()
    assert study.status == "done", study.failure_reason
    report = study.report
    stored = {report.chart.name, report.overlay.name, report.radiograph.name}
    assert stored <= set(_keys(s3))
    body = s3.get_object(Bucket=BUCKET, Key=study.original.name)["Body"].read()
    assert body == phantom_png

    client.force_login(user)
    answer = client.get(f"/studies/{study.pk}/files/original/")
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == phantom_png
    chart = client.get(f"/studies/{study.pk}/files/chart/")
    assert b"".join(chart.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    assert not any(Path(settings.MEDIA_ROOT).rglob("*.*"))  # nothing in the media folder

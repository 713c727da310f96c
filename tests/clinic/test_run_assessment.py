"""``services.run_assessment`` and the Celery task: status transitions, report, idempotence."""

from __future__ import annotations

import logging

import pytest
from PIL import Image

from boneage.errors import CorruptImage, ModelUnavailable
from clinic import services, signing, tasks
from clinic.models import Report, Study


@pytest.fixture
def queued(user, upload):
    return services.study_create(user=user, file=upload(), sex="F", chronological_age_months=120)


def test_a_queued_study_ends_done_with_its_report(queued, fake_engine):
    study = services.run_assessment(study_id=queued.pk)
    assert study.status == Study.Status.DONE
    assert study.started_at <= study.finished_at
    report = Report.objects.get(study=study)
    assert report.assessment == fake_engine.result.to_dict()
    assert (report.multistep_age_months, report.endtoend_age_months) == (121.4, 118.9)
    assert report.agree is True and report.flag_for_review is False
    assert report.category == "within normal"
    assert report.model_versions == {
        "segmentation": "unet-demo-1.0.0", "reference": "reference-default-1.0.0",
        "regression": "cnn-demo-1.0.0",
    }  # fmt: skip
    assert Image.open(report.chart).format == "PNG"
    assert Image.open(report.overlay).size == (32, 32)


def test_the_engine_gets_the_studys_sex_and_age(queued, fake_engine):
    services.run_assessment(study_id=queued.pk)
    assert fake_engine.calls[0]["sex"] == "F"
    assert fake_engine.calls[0]["chronological_age_months"] == 120


def test_disagreeing_estimates_flag_the_report(queued, fake_engine):
    fake_engine.answer(multistep=150.0, endtoend=100.0)
    services.run_assessment(study_id=queued.pk)
    assert Report.objects.get(study=queued).flag_for_review is True


def test_a_done_study_is_not_assessed_again(queued, fake_engine):
    services.run_assessment(study_id=queued.pk)
    services.run_assessment(study_id=queued.pk)
    assert len(fake_engine.calls) == 1
    assert Report.objects.filter(study=queued).count() == 1


def test_an_engine_error_fails_the_study_with_its_reason(queued, fake_engine):
    fake_engine.raises = ModelUnavailable("the segmentation model file is missing")
    study = services.run_assessment(study_id=queued.pk)
    assert study.status == Study.Status.FAILED
    assert study.failure_reason == "the segmentation model file is missing"
    assert not Report.objects.filter(study=queued).exists()


def test_a_failed_study_can_be_run_again(queued, fake_engine):
    fake_engine.raises = ModelUnavailable("missing")
    services.run_assessment(study_id=queued.pk)
    fake_engine.raises = None
    study = services.run_assessment(study_id=queued.pk)
    assert study.status == Study.Status.DONE and study.failure_reason == ""


def test_the_task_loads_the_models_once_per_process(queued, user, upload, fake_engine):
    second = services.study_create(user=user, file=upload(), sex="M")
    tasks.assess_study.__dict__.pop("models", None)
    tasks.assess_study.apply(args=[queued.pk])
    tasks.assess_study.apply(args=[second.pk])
    assert fake_engine.loads == 1
    assert set(Study.objects.values_list("status", flat=True)) == {"done"}
    tasks.assess_study.__dict__.pop("models", None)


def test_the_task_goes_to_the_queue_of_the_configured_device(settings):
    from clinic.celery import app

    route = app.amqp.router.route({}, tasks.assess_study.name)
    assert route["queue"].name == settings.BONEAGE_DEVICE
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    visibility = app.conf.broker_transport_options.get("visibility_timeout", 0)
    if app.conf.broker_url.startswith("redis"):
        assert visibility > app.conf.task_time_limit


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (ModelUnavailable("the segmentation model file is missing"), "model_unavailable"),
        (CorruptImage("The PNG image is truncated and cannot be decoded."), "corrupt_image"),
    ],
)
def test_a_study_failed_by_the_engine_logs_why_without_patient_data(
    user, upload, fake_engine, caplog, error, cause
):
    """Only ``status=failed`` was once logged."""
    study = services.study_create(
        user=user, file=upload(), sex="F", patient_id="PAT-SECRET", patient_name="Roe, Anna"
    )
    fake_engine.raises = error
    with caplog.at_level(logging.INFO, logger="clinic.services"):
        services.run_assessment(study_id=study.pk)
    failed = [r.getMessage() for r in caplog.records if "status=failed" in r.getMessage()]
    assert failed == [f'study={study.pk} status=failed attempt=1 cause={cause} reason="{error}"']
    assert "PAT-SECRET" not in caplog.text and "Roe" not in caplog.text


def test_an_age_of_zero_is_an_age_for_the_engine_and_the_signed_reading(user, upload, fake_engine):
    from clinic.selectors import signed_reading

    study = services.study_create(user=user, file=upload(), sex="F", chronological_age_months=0)
    services.run_assessment(study_id=study.pk)
    assert fake_engine.calls[0]["chronological_age_months"] == 0
    report = Report.objects.get(study=study)
    signing.review_sign(report=report, reviewer=user, corrected_age_months=3.0, reason="TW3")
    report.refresh_from_db()
    reading = signed_reading(report)
    assert reading is not None and reading["bone_age_months"] == 3.0

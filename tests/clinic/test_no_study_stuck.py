"""No study lost or stuck: every kind of failure ends the study done or failed with its reason,
a film that kills its worker is not redelivered for ever, the sweeper finds the rest, and two
runs of one study write one report. Log lines carry ids and figures, never patient data."""

from __future__ import annotations

import errno
import logging
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.storage import default_storage
from django.utils import timezone

from clinic import services
from clinic.models import Report, Study


@pytest.fixture
def queued(user, upload):
    return services.study_create(
        user=user, file=upload(), sex="F", patient_name="Doe^Jane", patient_id="MRN-77"
    )


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (RuntimeError("CUDA out of memory"), "internal error (RuntimeError)"),
        (MemoryError(), "internal error (MemoryError)"),
        (OSError(errno.EIO, "Input/output error"), "internal error (OSError)"),
        (SoftTimeLimitExceeded(), "longer than the time limit"),
    ],
)
def test_any_failure_of_the_assessment_ends_the_study_failed_in_words(
    queued, fake_engine, error, words
):
    fake_engine.raises = error
    study = services.run_assessment(study_id=queued.pk)
    assert study.status == Study.Status.FAILED and words in study.failure_reason
    assert Study.objects.get(pk=queued.pk).status == Study.Status.FAILED


def test_storage_that_refuses_the_report_fails_the_study_and_keeps_no_report(
    queued, fake_engine, monkeypatch
):
    def full(name, content, max_length=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(default_storage, "save", full)
    study = services.run_assessment(study_id=queued.pk)
    assert study.status == Study.Status.FAILED
    assert "could not be stored (No space left on device)" in study.failure_reason
    assert not Report.objects.exists()


def test_a_redelivered_study_runs_again_but_not_for_ever(queued, fake_engine, settings):
    settings.BONEAGE_MAX_ATTEMPTS = 3
    # two earlier workers died mid-run: the study was left running after its second attempt
    Study.objects.filter(pk=queued.pk).update(status=Study.Status.RUNNING, attempts=2)
    study = services.run_assessment(study_id=queued.pk)
    assert (study.status, study.attempts) == (Study.Status.DONE, 3)
    Study.objects.filter(pk=queued.pk).update(status=Study.Status.RUNNING, attempts=3)
    Report.objects.all().delete()
    study = services.run_assessment(study_id=queued.pk)
    assert study.status == Study.Status.FAILED
    assert "started 3 times" in study.failure_reason and fake_engine.calls.__len__() == 1


def test_the_sweeper_requeues_or_fails_what_no_worker_will_finish(user, upload, settings):
    settings.BONEAGE_MAX_ATTEMPTS = 2
    long_ago = timezone.now() - timedelta(hours=5)
    studies = {
        name: services.study_create(user=user, file=upload(), sex="F")
        for name in ("killed once", "killed twice", "lost message", "fresh", "running now")
    }
    Study.objects.filter(pk=studies["killed once"].pk).update(
        status=Study.Status.RUNNING, started_at=long_ago, attempts=1
    )
    Study.objects.filter(pk=studies["killed twice"].pk).update(
        status=Study.Status.RUNNING, started_at=long_ago, attempts=2
    )
    Study.objects.filter(pk=studies["lost message"].pk).update(updated_at=long_ago)
    Study.objects.filter(pk=studies["running now"].pk).update(
        status=Study.Status.RUNNING, started_at=timezone.now(), attempts=1
    )
    actions = services.studies_sweep()
    assert sorted(actions["requeued"]) == sorted(
        [studies["killed once"].pk, studies["lost message"].pk]
    )
    assert actions["failed"] == [studies["killed twice"].pk]
    state = {name: Study.objects.get(pk=s.pk).status for name, s in studies.items()}
    assert state == {
        "killed once": "queued",
        "killed twice": "failed",
        "lost message": "queued",
        "fresh": "queued",
        "running now": "running",
    }
    assert services.studies_sweep() == {"requeued": [], "failed": []}  # nothing twice


def test_two_runs_of_one_study_write_one_report_and_the_first_stands(
    queued, fake_engine, user, upload
):
    def other_worker_finishes_first():
        fake_engine.answer(multistep=50.0, endtoend=52.0)
        other = services.run_assessment(study_id=queued.pk)  # the other worker's whole run
        assert other.status == Study.Status.DONE
        fake_engine.answer(multistep=100.0, endtoend=104.0)  # this run's late answer
        return "bundle"

    study = services.run_assessment(study_id=queued.pk, get_models=other_worker_finishes_first)
    assert Report.objects.filter(study=study).count() == 1
    assert Report.objects.get(study=study).multistep_age_months == 50.0


def test_each_state_change_is_one_log_line_without_patient_data(queued, fake_engine, caplog):
    with caplog.at_level(logging.INFO, logger="clinic.services"):
        services.run_assessment(study_id=queued.pk)
    lines = [r.getMessage() for r in caplog.records if r.name == "clinic.services"]
    assert lines[0] == f"study={queued.pk} status=running attempt=1"
    assert lines[1].startswith(f"study={queued.pk} status=done attempt=1 seconds=read:")
    assert "segmentation:0.040,cnn:0.050,chart:" in lines[1]  # the engine's stages, the clinic's
    assert "regression:cnn-demo-1.0.0" in lines[1]
    text = " ".join(lines)
    assert "Doe" not in text and "MRN-77" not in text and "hand.png" not in text


def test_a_failing_run_does_not_undo_a_run_that_finished(queued, fake_engine):
    def other_worker_finishes_then_this_one_breaks():
        services.run_assessment(study_id=queued.pk)
        fake_engine.raises = RuntimeError("this run's own failure")
        return "bundle"

    study = services.run_assessment(
        study_id=queued.pk, get_models=other_worker_finishes_then_this_one_breaks
    )
    assert study.status == Study.Status.DONE and Report.objects.filter(study=study).exists()

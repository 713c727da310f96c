"""A real Celery worker on Redis and the PostgreSQL test database assesses real uploads, and a
task whose worker is SIGKILLed mid-assessment is redone, not lost (acks_late with
task_reject_on_worker_lost for a killed pool child; Redis' visibility timeout for a killed worker).
"""

from __future__ import annotations

import os
import signal

import pytest

from clinic import services
from clinic.models import Report, Study
from tests.clinic.worker_process import (
    pool_children,
    wait_until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("real_services"),
]

# Loading the demo models and one assessment on a shared CPU (seconds): generous, not tight.
TIMEOUT_S = 240


def _status(study: Study) -> str:
    study.refresh_from_db()
    return study.status


def test_an_upload_is_assessed_by_a_real_worker(workers, user, upload):
    worker = workers("solo")
    study = services.study_create(user=user, file=upload(), sex="F", chronological_age_months=120)
    finished = lambda: _status(study) in {"done", "failed"}  # noqa: E731
    wait_until(finished, TIMEOUT_S, "the assessment", worker=worker)
    assert (study.status, study.failure_reason) == ("done", "")
    report = Report.objects.get(study=study)
    assert report.multistep_age_months is not None or report.endtoend_age_months is not None
    assert report.chart and os.path.getsize(report.chart.path) > 0


def test_a_pool_child_killed_mid_task_is_redone(workers, user, upload):
    worker = workers("victim", delay_s=6)
    study = services.study_create(user=user, file=upload(), sex="M", chronological_age_months=90)
    wait_until(lambda: _status(study) == "running", TIMEOUT_S, "the task to start", worker=worker)
    first_start = study.started_at
    (child,) = pool_children(worker)
    os.kill(child, signal.SIGKILL)
    finished = lambda: _status(study) in {"done", "failed"}  # noqa: E731
    wait_until(finished, TIMEOUT_S, "the redone assessment", worker=worker)
    assert study.status == "done"
    assert study.started_at > first_start  # it ran a second time, from the start


def test_a_worker_killed_mid_task_leaves_the_task_to_a_second_worker(workers, user, upload):
    first = workers("first", delay_s=30, visibility_timeout_s=5)
    study = services.study_create(user=user, file=upload(), sex="F", chronological_age_months=150)
    wait_until(lambda: _status(study) == "running", TIMEOUT_S, "the task to start", worker=first)
    for pid in [*pool_children(first), first.pid]:
        os.kill(pid, signal.SIGKILL)
    first.wait()
    second = workers("second", visibility_timeout_s=5)
    finished = lambda: _status(study) in {"done", "failed"}  # noqa: E731
    wait_until(finished, TIMEOUT_S, "the second worker", worker=second)
    assert study.status == "done"

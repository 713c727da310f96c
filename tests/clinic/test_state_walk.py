"""Every page and endpoint in every state a study can be in answers without a server error:
queued, running, failed; rejected on one path or both; with and without a chronological age;
signed, and corrected after signing."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from boneage.errors import InputError
from clinic import services, signing
from clinic.api.tokens import api_token_create
from clinic.models import Study
from tests.clinic.conftest import contract_assessment, fake_assessment


def _rejected(path: str, reason: str, data: dict) -> dict:
    data[path] = {"rejected": reason, "model": data[path]["model"]}
    data["agreement"] = {
        "agree": None,
        "difference_months": None,
        "flag_for_review": True,
        "reason": "Only one method gave an estimate: review the study.",
    }
    return data


@pytest.fixture
def studies(user, upload, fake_engine):
    """One study per state, named."""
    made = {}

    def assessed(name: str, data: dict | None = None, age: float | None = 120.0):
        if data is not None:
            fake_engine.result = fake_assessment(data)
        study = services.study_create(
            user=user, file=upload(), sex="F", chronological_age_months=age
        )
        services.run_assessment(study_id=study.pk)
        made[name] = study

    made["queued"] = services.study_create(user=user, file=upload(), sex="F")
    made["running"] = services.study_create(user=user, file=upload(), sex="M")
    Study.objects.filter(pk=made["running"].pk).update(status=Study.Status.RUNNING)
    fake_engine.raises = InputError("The file is not a radiograph.")
    assessed("failed")
    fake_engine.raises = None
    assessed("done", contract_assessment())
    assessed("done without age", contract_assessment(), age=None)
    assessed("multistep rejected", _rejected("multistep", "hand not found", contract_assessment()))
    both = _rejected("multistep", "not a hand", contract_assessment())
    both = _rejected("endtoend", "not a hand", both)
    both["chronological"] = {"age_months": 120.0}
    assessed("both rejected", both)
    del both["chronological"]
    assessed("both rejected without age", both, age=None)
    assessed("signed", contract_assessment())
    signing.review_sign(report=made["signed"].report, reviewer=user, accept="multistep")
    assessed("corrected", contract_assessment())
    report = made["corrected"].report
    signing.review_sign(report=report, reviewer=user, accept="endtoend")
    signing.review_sign(report=report, reviewer=user, corrected_age_months=80, reason="re-read")
    rejected_signed = both | {"chronological": {"age_months": 120.0}}
    assessed("both rejected, signed", rejected_signed)
    signing.review_sign(
        report=made["both rejected, signed"].report,
        reviewer=user,
        corrected_age_months=100,
        reason="read by hand",
    )
    return made


def test_no_page_or_endpoint_fails_in_any_state(client, user, studies, make_user):
    staff = make_user("admin", user.membership.institution, is_staff=True, is_superuser=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, name='walk')[1]}")
    pages = [reverse("study-list"), reverse("worklist"), reverse("study-upload")]
    answers = {}
    client.force_login(user)
    for url in pages:
        answers[url] = client.get(url).status_code
    for name, study in studies.items():
        study.refresh_from_db()
        urls = [
            reverse("study-report", args=[study.pk]),
            reverse("reading", args=[study.pk]),
            reverse("study-status", args=[study.pk]),
            *(reverse("study-file", args=[study.pk, kind]) for kind in
              ("original", "radiograph", "overlay", "chart")),
        ]  # fmt: skip
        for url in urls:
            answers[f"{name}: {url}"] = client.get(url).status_code
        for route in ("study-detail", "study-fhir", "study-overlay", "study-chart"):
            url = reverse(f"api:{route}", args=[study.pk])
            answers[f"{name}: {url}"] = api.get(url).status_code
        options = api.options(reverse("api:study-detail", args=[study.pk]))
        answers[f"{name}: OPTIONS"] = options.status_code
    answers["api list"] = api.get(reverse("api:study-list")).status_code
    client.force_login(staff)
    for name, study in studies.items():
        for url in [reverse("admin:clinic_study_change", args=[study.pk])] + (
            [reverse("admin:clinic_report_change", args=[study.report.pk])]
            if hasattr(study, "report")
            else []
        ):
            answers[f"{name}: {url}"] = client.get(url).status_code
    for model in ("study", "report", "reviewqueue", "review"):
        url = reverse(f"admin:clinic_{model}_changelist")
        answers[url] = client.get(url).status_code
    failures = {where: code for where, code in answers.items() if code >= 500}
    assert not failures
    assert len(answers) > 100  # the walk really visited every state
    # and the states are the ones named
    assert {s.status for s in Study.objects.all()} == {"queued", "running", "failed", "done"}

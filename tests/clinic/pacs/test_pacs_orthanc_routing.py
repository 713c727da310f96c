"""The Orthanc routing script of docs/dicom.md (docker/orthanc/route.lua), run by a real Orthanc:
a stable study's hand radiograph reaches the listener by itself, and only the radiograph."""

from __future__ import annotations

import time

import pytest

from clinic.models import Study
from tests.clinic.pacs.conftest import LISTENER_AE
from tests.clinic.pacs.orthanc import start_orthanc
from tests.clinic.worker_process import ROOT, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_stable_study_is_routed_to_the_listener(tmp_path, listener, caller, hand_dicom):
    pacs = start_orthanc(tmp_path / "orthanc", listener_port=listener, listener_ae=LISTENER_AE,
                         lua=ROOT / "docker" / "orthanc" / "route.lua")  # fmt: skip
    try:
        film = hand_dicom(AccessionNumber="LUA1")
        pacs.upload(film)
        pacs.upload(hand_dicom(Modality="MR", BodyPartExamined="HEAD"))  # another study, not sent
        wait_until(lambda: Study.objects.filter(accession_number="LUA1").exists(), 60,
                   "Orthanc's Lua routing to send the study")  # fmt: skip
        time.sleep(3)  # the MR study is stable too by now
        assert Study.objects.count() == 1
    finally:
        pacs.stop()

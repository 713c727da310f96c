"""Fixtures of the PACS tests: an institution's DICOM nodes, phantom hand films as DICOM, our
listener (``manage.py dicom_listener``) in a subprocess, and a real Orthanc."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pynetdicom import AE

from tests.clinic.pacs.orthanc import Orthanc, free_port, start_orthanc
from tests.clinic.worker_process import ROOT, service_environment
from tests.dicom_checks import phantom_hand_dicom

LISTENER_AE = "BONEAGE"
PACS_AE = "ORTHANC"


@pytest.fixture
def hand_dicom() -> Callable[..., bytes]:
    return phantom_hand_dicom


@pytest.fixture
def caller(user: Any) -> Any:
    """The PACS of ``user``'s institution, allowed to send films filed as ``user``."""
    from clinic.pacs.models import DicomNode

    return DicomNode.objects.create(
        institution=user.membership.institution, name="main PACS", role="caller",
        ae_title=PACS_AE, files_as=user,
    )  # fmt: skip


@pytest.fixture
def listener(tmp_path: Path, real_services: None) -> Iterator[int]:
    """``manage.py dicom_listener`` on a free loopback port, on the test's database; its port."""
    port = free_port()
    log = (tmp_path / "listener.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "dicom_listener", "--host", "127.0.0.1", "--port",
         str(port)],
        cwd=ROOT, env={**service_environment(), "DJANGO_SETTINGS_MODULE": "clinic.settings.test"},
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not _echo(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError((tmp_path / "listener.log").read_text())
        time.sleep(0.3)
    yield port
    process.terminate()
    process.wait(timeout=20)


def _echo(port: int) -> bool:
    """Whether a listener answers an association at all (rejected or not)."""
    ae = AE(ae_title="PROBE")
    ae.add_requested_context("1.2.840.10008.1.1")
    ae.acse_timeout = ae.network_timeout = 2
    assoc = ae.associate("127.0.0.1", port, ae_title=LISTENER_AE)
    answered = assoc.is_established or assoc.is_rejected
    if assoc.is_established:
        assoc.release()
    return answered


@pytest.fixture
def orthanc(tmp_path: Path, listener: int) -> Iterator[Orthanc]:
    pacs = start_orthanc(tmp_path / "orthanc", listener_port=listener, listener_ae=LISTENER_AE)
    yield pacs
    pacs.stop()


@pytest.fixture
def destination(user: Any, orthanc: Orthanc) -> Any:
    """The Orthanc as the destination of ``user``'s institution, by C-STORE."""
    from clinic.pacs.models import DicomNode

    return DicomNode.objects.create(
        institution=user.membership.institution, name="test PACS", role="destination",
        ae_title=PACS_AE, host="127.0.0.1", port=orthanc.dicom_port,
    )  # fmt: skip

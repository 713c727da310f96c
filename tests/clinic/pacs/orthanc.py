"""A real Orthanc (Debian's ``orthanc`` and ``orthanc-dicomweb``) for the tests: the PACS the clinic
receives from and sends to.

:func:`start_orthanc` writes a configuration into a temporary folder (loopback-only HTTP, free
DICOM and HTTP ports, its storage in that folder, the DICOMweb plugin, our listener as the
modality ``boneage``), starts ``Orthanc config.json`` and waits for its REST API. The
:class:`Orthanc` it returns speaks that REST API with ``requests``: upload an instance, forward
it to a modality, list a study's instances, download one, stop and start again on the same ports
and storage (a PACS that is down, then back).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
AE_TITLE = "ORTHANC"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Orthanc:
    folder: Path
    dicom_port: int
    http_port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        log = (self.folder / "orthanc.log").open("ab")
        self.process = subprocess.Popen(
            ["Orthanc", str(self.folder / "config.json")], cwd=self.folder, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"Orthanc exited:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/system", timeout=1).ok:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.2)
        raise AssertionError(f"Orthanc did not answer within 60 s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        log = self.folder / "orthanc.log"
        return (
            "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""
        )

    def upload(self, data: bytes) -> str:
        """Store an instance through the REST API; its Orthanc id."""
        response = requests.post(f"{self.url}/instances", data=data, timeout=30)
        response.raise_for_status()
        return str(response.json()["ID"])

    def forward(self, instance_id: str, modality: str = "boneage") -> requests.Response:
        """C-STORE one stored instance to a modality of the configuration (synchronously)."""
        return requests.post(
            f"{self.url}/modalities/{modality}/store",
            json={"Resources": [instance_id], "Synchronous": True},
            timeout=120,
        )

    def instances_of_study(self, study_instance_uid: str) -> list[dict[str, Any]]:
        """Every instance of the study, with its tags in Orthanc's simplified form."""
        found = requests.post(
            f"{self.url}/tools/find",
            json={"Level": "Instance", "Query": {"StudyInstanceUID": study_instance_uid},
                  "Expand": True},
            timeout=30,
        )  # fmt: skip
        found.raise_for_status()
        instances = []
        for instance in found.json():
            tags = requests.get(
                f"{self.url}/instances/{instance['ID']}/simplified-tags", timeout=30
            ).json()
            instances.append({"id": instance["ID"], **tags})
        return instances

    def file(self, instance_id: str) -> bytes:
        response = requests.get(f"{self.url}/instances/{instance_id}/file", timeout=30)
        response.raise_for_status()
        return response.content


def start_orthanc(
    folder: Path, *, listener_port: int, listener_ae: str, lua: Path | None = None
) -> Orthanc:
    """An Orthanc on free loopback ports whose modality ``boneage`` is our listener, running the
    Lua script ``lua`` when given (a study is stable after 1 s)."""
    if shutil.which("Orthanc") is None or not DICOMWEB_PLUGIN.exists():
        pytest.fail("Orthanc is missing: install Debian's orthanc and orthanc-dicomweb")
    orthanc = Orthanc(folder=folder, dicom_port=free_port(), http_port=free_port())
    (folder / "storage").mkdir(parents=True, exist_ok=True)
    config = {
        "Name": "test PACS",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "HttpPort": orthanc.http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomServerEnabled": True,
        "DicomAet": AE_TITLE,
        "DicomPort": orthanc.dicom_port,
        "DicomCheckCalledAet": True,
        "DicomAlwaysAllowStore": True,
        "DicomModalities": {"boneage": [listener_ae, "127.0.0.1", listener_port]},
        "Plugins": [str(DICOMWEB_PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "SaveJobs": False,
        "StableAge": 1,
        "LuaScripts": [str(lua)] if lua else [],
        "HttpTimeout": 120,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    orthanc.start()
    return orthanc

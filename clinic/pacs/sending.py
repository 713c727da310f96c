"""Sending results to a destination: C-STORE (pynetdicom's SCU) or STOW-RS (requests).

Either way a refusal is :class:`SendFailed` with the reason in words ("association refused by
PACS (calling AE title not recognised)", "no answer from pacs:4242", "the PACS answered HTTP 503"),
which the delivery keeps and the study page shows.
"""

from __future__ import annotations

import uuid
from io import BytesIO

import requests
from django.conf import settings
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import Comprehensive3DSRStorage, SecondaryCaptureImageStorage

from clinic.pacs.models import DicomNode

REJECTION_WORDS = {
    0x02: "application context not supported",
    0x03: "calling AE title not recognised",
    0x07: "called AE title not recognised",
}
"""A-ASSOCIATE-RJ diagnostics by the service user (PS3.8 9.3.4), in words."""


class SendFailed(Exception):
    """The destination did not take the results; the message says why."""


def send(node: DicomNode, datasets: list[Dataset]) -> None:
    if node.stow_url:
        stow(node.stow_url, datasets)
    else:
        c_store(node, datasets)


def c_store(node: DicomNode, datasets: list[Dataset]) -> None:
    ae = AE(ae_title=settings.BONEAGE_DICOM_AE_TITLE)
    ae.add_requested_context(Comprehensive3DSRStorage)
    ae.add_requested_context(SecondaryCaptureImageStorage)
    timeout = settings.BONEAGE_PACS_TIMEOUT_S
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.connection_timeout = timeout
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title)
    if assoc.is_rejected:
        diagnostic = getattr(assoc.acceptor, "primitive", None)
        reason = REJECTION_WORDS.get(getattr(diagnostic, "diagnostic", 0), "")
        raise SendFailed(
            f"association refused by {node.ae_title}" + (f" ({reason})" if reason else "")
        )
    if not assoc.is_established:
        raise SendFailed(
            f"association refused: no answer from {node.ae_title} at {node.host}:{node.port}"
        )
    try:
        for dataset in datasets:
            status = assoc.send_c_store(dataset)
            code = getattr(status, "Status", None)
            if code is None:
                raise SendFailed(f"{node.ae_title} did not answer the C-STORE (connection lost)")
            if code not in {0x0000, 0xB000, 0xB007, 0xB006}:
                comment = status.get("ErrorComment", "")
                raise SendFailed(
                    f"{node.ae_title} refused the {dataset.Modality} object with status "
                    f"0x{code:04X}" + (f": {comment}" if comment else "")
                )
    finally:
        assoc.release()


def stow(url: str, datasets: list[Dataset]) -> None:
    """POST the instances to ``url``/studies as multipart/related (PS3.18 10.5)."""
    boundary = uuid.uuid4().hex
    body = BytesIO()
    for dataset in datasets:
        part = BytesIO()
        dataset.save_as(part, enforce_file_format=True)
        body.write(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode())
        body.write(part.getvalue())
        body.write(b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    headers = {
        "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
        "Accept": "application/dicom+json",
    }
    try:
        response = requests.post(
            url.rstrip("/") + "/studies",
            data=body.getvalue(),
            headers=headers,
            timeout=settings.BONEAGE_PACS_TIMEOUT_S,
        )
    except requests.RequestException as error:
        raise SendFailed(f"no answer from {url} ({type(error).__name__})") from error
    if response.status_code != 200:
        raise SendFailed(f"{url} answered HTTP {response.status_code}: {response.text[:200]}")

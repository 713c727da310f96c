"""The C-STORE SCP: where a PACS, a router or a modality sends hand radiographs.

pynetdicom's storage SCP, run by ``manage.py dicom_listener`` as a process of its own. The
association is refused (A-ASSOCIATE-RJ, "calling AE title not recognised") unless the calling AE
title is an enabled caller of some institution; the callers are read from the database at each
association, so a node added in the admin is taken at once. Every storage SOP class is accepted
at negotiation so that what this clinic does not assess (an SR, a CT) is refused per instance
with the reason in the ErrorComment, rather than as a bare "abstract syntax not supported".
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from pydicom.dataset import Dataset
from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification

from clinic.pacs import receiving
from clinic.pacs.models import DicomNode

logger = logging.getLogger(__name__)

NO_CALLER = "\\"
"""An AE title no peer can send (a backslash is not allowed in one): the list of callers when
there are none, since pynetdicom lets anyone in when the list is empty."""


def caller(ae_title: str) -> DicomNode | None:
    return (
        DicomNode.objects.filter(role=DicomNode.Role.CALLER, enabled=True, ae_title=ae_title)
        .select_related("files_as", "institution")
        .first()
    )


class ListenerAE(AE):
    """An AE whose allowed callers are the enabled caller nodes, read at each association."""

    @property
    def require_calling_aet(self) -> list[str]:
        close_old_connections()
        titles = DicomNode.objects.filter(role=DicomNode.Role.CALLER, enabled=True).values_list(
            "ae_title", flat=True
        )
        return list(titles) or [NO_CALLER]

    @require_calling_aet.setter
    def require_calling_aet(self, ae_titles: list[str]) -> None:
        """Ignored: the callers are the database's (AE.__init__ sets an empty list)."""


def _status(code: int, comment: str = "") -> Dataset:
    status = Dataset()
    status.Status = code
    if comment:
        status.ErrorComment = comment[:64]
    return status


def handle_store(event: Any) -> Dataset | int:
    """One C-STORE request: file the instance as a study of the caller's institution."""
    close_old_connections()
    try:
        node = caller(event.assoc.requestor.ae_title.strip())
        if node is None:  # removed while the association was open
            return _status(receiving.CANNOT_UNDERSTAND, "refused: calling AE title not known")
        dataset = event.dataset
        dataset.file_meta = event.file_meta
        received = receiving.receive(
            dataset=dataset, user=node.files_as, data=event.encoded_dataset()
        )
    except receiving.Refused as refused:
        logger.info("c-store refused from %s: %s", event.assoc.requestor.ae_title, refused.reason)
        return _status(refused.status, refused.comment)
    except Exception:  # noqa: BLE001 - the sender must get a status, the admins a traceback
        logger.exception("c-store from %s failed", event.assoc.requestor.ae_title)
        return _status(receiving.PROCESSING_FAILURE, "internal error; logged for the admins")
    finally:
        close_old_connections()
    logger.info("c-store study=%s created=%s", received.study.pk, received.created)
    return 0x0000


def build_ae() -> ListenerAE:
    ae = ListenerAE(ae_title=settings.BONEAGE_DICOM_AE_TITLE)
    ae.supported_contexts = AllStoragePresentationContexts
    ae.add_supported_context(Verification)
    ae.require_called_aet = True
    ae.maximum_pdu_size = 0
    return ae


def serve(*, host: str, port: int, block: bool = True) -> Any:
    """Listen on ``host:port`` until stopped (``block``), else return the server thread."""
    ae = build_ae()
    handlers = [(evt.EVT_C_STORE, handle_store)]
    logger.info("dicom listener %s on %s:%s", ae.ae_title, host, port)
    return ae.start_server((host, port), block=block, evt_handlers=handlers)

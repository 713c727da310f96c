"""The C-STORE listener over the network (``manage.py dicom_listener`` in its own process): a
known caller's hand film is stored, anything else gets a failure status with the reason in its
ErrorComment, an unknown caller is refused at association, and nothing refused is stored."""

from __future__ import annotations

from io import BytesIO

import pydicom
import pytest
from pydicom.uid import BasicTextSRStorage, generate_uid
from pynetdicom import AE, StoragePresentationContexts

from clinic.models import Study
from tests.clinic.pacs.conftest import LISTENER_AE, PACS_AE

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _store(port: int, dataset: pydicom.Dataset, *, calling: str = PACS_AE) -> tuple[str, object]:
    """("rejected", None) or ("status", the C-STORE status data set)."""
    ae = AE(ae_title=calling)
    ae.requested_contexts = StoragePresentationContexts[:120]
    assoc = ae.associate("127.0.0.1", port, ae_title=LISTENER_AE)
    if assoc.is_rejected:
        return "rejected", assoc
    assert assoc.is_established
    try:
        return "status", assoc.send_c_store(dataset)
    finally:
        assoc.release()


def _dataset(data: bytes, **tags: object) -> pydicom.Dataset:
    dataset = pydicom.dcmread(BytesIO(data))
    for keyword, value in tags.items():
        setattr(dataset, keyword, value)
    return dataset


def test_a_known_callers_hand_film_is_stored_once(listener, caller, hand_dicom):
    dataset = _dataset(hand_dicom(AccessionNumber="NET1"))
    for _ in range(2):
        kind, status = _store(listener, dataset)
        assert (kind, status.Status) == ("status", 0x0000)
    study = Study.objects.get()
    assert study.sop_instance_uid == dataset.SOPInstanceUID
    assert study.accession_number == "NET1" and study.uploaded_by == caller.files_as


def _sr(data: bytes) -> pydicom.Dataset:
    dataset = _dataset(data, Modality="SR", SOPClassUID=BasicTextSRStorage)
    del dataset.PixelData
    dataset.SOPInstanceUID = generate_uid()
    return dataset


def _no_pixels(data: bytes) -> pydicom.Dataset:
    dataset = _dataset(data)
    del dataset.PixelData
    return dataset


@pytest.mark.parametrize(
    ("make", "comment"),
    [
        (lambda d: _dataset(d, BodyPartExamined="FOOT"), "refused: body part FOOT; only HAND"),
        (lambda d: _dataset(d, NumberOfFrames=2), "refused: 2 frames; one hand radiograph only"),
        (_no_pixels, "refused: no pixel data"),
        (_sr, "refused: an SR; only hand radiographs (DX, CR)"),
    ],
    ids=["foot", "multi-frame", "no-pixels", "sr"],
)
def test_bad_dicom_gets_a_failure_status_in_words(listener, caller, hand_dicom, make, comment):
    kind, status = _store(listener, make(hand_dicom()))
    assert kind == "status"
    assert status.Status == 0xC000 and status.ErrorComment == comment
    assert Study.objects.count() == 0


def test_an_unknown_caller_is_refused_at_association(listener, caller, hand_dicom):
    kind, assoc = _store(listener, _dataset(hand_dicom()), calling="STRANGER")
    assert kind == "rejected"
    assert assoc.acceptor.primitive.diagnostic == 0x03  # calling AE title not recognised
    assert Study.objects.count() == 0


def test_a_destination_that_refuses_us_is_named_in_words(listener, user):
    from clinic.pacs.models import DicomNode
    from clinic.pacs.sending import SendFailed, c_store

    refusing = DicomNode(
        institution=user.membership.institution, name="strict PACS", role="destination",
        ae_title=LISTENER_AE, host="127.0.0.1", port=listener,
    )  # fmt: skip
    words = rf"association refused by {LISTENER_AE} \(calling AE title not recognised\)"
    with pytest.raises(SendFailed, match=words):
        c_store(refusing, [])

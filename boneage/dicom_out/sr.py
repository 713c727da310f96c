"""The structured report: a TID 1500 Measurement Report, laid out as IHE AI Results asks.

The tree (built with highdicom's ``MeasurementReport``; docs/dicom.md draws it):

- the observation context: the algorithm as the device observer, and once signed the
  radiologist as the person observer;
- the procedure reported (CPT 77072, bone age studies) and, for a DICOM source whose header
  states its orientation and imager pixel spacing, the image library entry of the film;
- one measurement group per path (``method`` says which): its bone age (LOINC 85151-9, months)
  and the limits of its 90 % interval (months, private codes: highdicom writes measurement
  uncertainty without a unit), the path's algorithm (TID 4019: name, version, and as parameters
  each model and its training data), the hand as finding site, the source image; and the
  path's reading against the
  chronological age where one was given: subject age, bone age minus chronological age, Z-score
  (the SDS) and the category as a qualitative evaluation;
- once signed, a group of the signed bone age, its selection status "user chosen value" (DCM
  121410): the value of record, with its reading.

An unsigned report is preliminary (Completion Flag PARTIAL, Verification Flag UNVERIFIED); a
signed one is COMPLETE and VERIFIED, naming the radiologist as verifying observer.
"""

from __future__ import annotations

from datetime import datetime

import highdicom as hd
from highdicom.sr import (
    AlgorithmIdentification,
    DeviceObserverIdentifyingAttributes,
    FindingSite,
    Measurement,
    MeasurementProperties,
    MeasurementReport,
    MeasurementsAndQualitativeEvaluations,
    ObservationContext,
    ObserverContext,
    PersonObserverIdentifyingAttributes,
    QualitativeEvaluation,
    SourceImageForMeasurement,
    TrackingIdentifier,
)
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from boneage.contract import Estimate, Reading
from boneage.dicom_out import codes as bc
from boneage.dicom_out.results import DicomResult
from boneage.dicom_out.source import SourceStudy

MANUFACTURER = "boneage"
ALGORITHM_NAMES = {"multistep": "boneage multi-step", "endtoend": "boneage end-to-end"}


def build_sr(
    result: DicomResult,
    source: SourceStudy,
    *,
    evidence: list[Dataset],
    series_instance_uid: str,
    sop_instance_uid: str,
    device_uid: str,
    software_version: str,
    series_number: int = 900,
    now: datetime | None = None,
) -> hd.sr.Comprehensive3DSR:
    """The SR of ``result`` in ``source``'s study; ``evidence`` holds the instances it references
    (the source image's header for a DICOM source, the secondary capture of a new study), from
    which highdicom copies the patient and study."""
    now = now or datetime.now()
    record = result.record
    references = _references(source)
    groups = [
        _path_group(method, estimate, result, references, software_version)
        for method, estimate in record.estimates().items()
        if estimate.answered
    ]
    signature = result.signature
    if signature is not None:
        groups.append(_signed_group(result, references))
    report = MeasurementReport(
        observation_context=_observation_context(result, device_uid, software_version),
        procedure_reported=bc.PROCEDURE_BONE_AGE,
        imaging_measurements=groups,
        title=bc.IMAGING_MEASUREMENT_REPORT,
        referenced_images=_library(source),
    )
    equipment = hd.ContributingEquipment(
        manufacturer=MANUFACTURER,
        purpose_of_reference=bc.PROCESSING_EQUIPMENT,
        manufacturer_model_name="boneage",
        software_versions=software_version,
        institution_name=result.institution_name or None,
        contribution_datetime=now,
        contribution_description="bone age estimated from the hand radiograph",
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=evidence,
        content=report,
        series_instance_uid=series_instance_uid,
        series_number=series_number,
        sop_instance_uid=sop_instance_uid,
        instance_number=1,
        manufacturer=MANUFACTURER,
        is_complete=signature is not None,
        is_final=signature is not None,
        is_verified=signature is not None,
        institution_name=result.institution_name or None,
        verifying_observer_name=_person_name(signature.observer_name) if signature else None,
        verifying_organization=(signature.organization or result.institution_name or "unknown")
        if signature
        else None,
        contributing_equipment=[equipment],
    )
    scheme = Dataset()
    scheme.CodingSchemeDesignator = bc.SCHEME
    scheme.CodingSchemeName = "boneage concepts (docs/dicom.md)"
    scheme.CodingSchemeResponsibleOrganization = "boneage project"
    sr.CodingSchemeIdentificationSequence = [scheme]
    sr.SeriesDescription = "Bone age report" + (" (signed)" if signature else " (unsigned)")
    if signature is not None:
        sr.VerifyingObserverSequence[0].VerificationDateTime = signature.signed_at.strftime(
            "%Y%m%d%H%M%S"
        )
    return sr


def _library(source: SourceStudy) -> list[Dataset] | None:
    """The image library (TID 1600) of the source film, when its header holds what a projection
    radiograph's entry must state (patient orientation, imager pixel spacing); else none, and the
    film is referenced by each measurement and in the evidence only."""
    image = source.image
    if image is None or not image.get("PatientOrientation") or not image.get("ImagerPixelSpacing"):
        return None
    return [image]


def _references(source: SourceStudy) -> list[SourceImageForMeasurement]:
    if source.image is None:
        return []
    return [
        SourceImageForMeasurement(
            referenced_sop_class_uid=source.image.SOPClassUID,
            referenced_sop_instance_uid=source.image.SOPInstanceUID,
        )
    ]


def _observation_context(
    result: DicomResult, device_uid: str, software_version: str
) -> ObservationContext:
    device = ObserverContext(
        observer_type=codes.cid270.Device,
        observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
            uid=device_uid,
            name="boneage",
            manufacturer_name=MANUFACTURER,
            model_name=f"boneage {software_version}",
        ),
    )
    person = None
    if result.signature is not None:
        person = ObserverContext(
            observer_type=codes.cid270.Person,
            observer_identifying_attributes=PersonObserverIdentifyingAttributes(
                name=_person_name(result.signature.observer_name),
                organization_name=result.signature.organization or None,
            ),
        )
    return ObservationContext(observer_person_context=person, observer_device_context=device)


def _algorithm(
    method: str, estimate: Estimate, result: DicomResult, version: str
) -> AlgorithmIdentification:
    """TID 4019 for one path: its name and the engine's version; as parameters each model
    (role: ident) and each model's training data, as its card states them."""
    parameters = []
    for role, ident in estimate.model.items():
        parameters.append(f"{role}: {ident}")
        card = result.record.models.get(role)
        if card is not None and card.id == ident:
            data = card.training_data
            parameters.append(
                f"{ident} trained on {data.get('size', '?')} images ({data.get('kind', '?')})"
            )
    return AlgorithmIdentification(
        name=ALGORITHM_NAMES.get(method, f"boneage {method}"),
        version=version,
        parameters=[p[:1024] for p in parameters] or None,
    )


def _path_group(
    method: str,
    estimate: Estimate,
    result: DicomResult,
    references: list[SourceImageForMeasurement],
    version: str,
) -> MeasurementsAndQualitativeEvaluations:
    algorithm = _algorithm(method, estimate, result, version)
    low, high = estimate.interval_months  # type: ignore[misc]
    age = float(estimate.age_months)  # type: ignore[arg-type]
    bone_age = Measurement(
        name=bc.BONE_AGE,
        value=round(age, 2),
        unit=bc.MONTHS,
        method=bc.METHODS[method],
        referenced_images=references or None,
    )
    interval = [
        Measurement(name=bc.INTERVAL_LOW, value=round(low, 2), unit=bc.MONTHS),
        Measurement(name=bc.INTERVAL_HIGH, value=round(high, 2), unit=bc.MONTHS),
    ]
    chronological = result.record.chronological
    reading = chronological.by_method.get(method) if chronological else None  # type: ignore[call-overload]
    return _group(
        f"bone age, {method}",
        method,
        [bone_age, *interval],
        reading,
        algorithm,
        result.record.standard,
    )


def _signed_group(
    result: DicomResult, references: list[SourceImageForMeasurement]
) -> MeasurementsAndQualitativeEvaluations:
    signature = result.signature
    assert signature is not None
    signed = Measurement(
        name=bc.BONE_AGE,
        value=round(signature.bone_age_months, 2),
        unit=bc.MONTHS,
        method=bc.METHODS[signature.method or "signed"],
        properties=MeasurementProperties(selection_status=bc.USER_CHOSEN_VALUE),
        referenced_images=references or None,
    )
    return _group(
        "bone age, signed", "signed", [signed], signature.reading, None, result.record.standard
    )


def _group(
    label: str,
    method: str,
    measurements: list[Measurement],
    reading: Reading | None,
    algorithm: AlgorithmIdentification | None,
    standard: str | None,
) -> MeasurementsAndQualitativeEvaluations:
    """One TID 1501 group: the bone age, the standard it is equivalent to, then its reading
    against the chronological age."""
    evaluations = []
    if standard in bc.STANDARDS:
        evaluations.append(
            QualitativeEvaluation(name=bc.BONE_AGE_METHOD, value=bc.STANDARDS[standard])
        )
    if reading is not None:
        measurements = [
            *measurements,
            Measurement(name=bc.SUBJECT_AGE, value=round(reading.age_months, 2), unit=bc.MONTHS),
            Measurement(
                name=bc.DIFFERENCE, value=round(reading.difference_months, 2), unit=bc.MONTHS
            ),
            Measurement(name=bc.Z_SCORE, value=round(reading.sds, 3), unit=bc.NO_UNITS),
        ]
        evaluations.append(
            QualitativeEvaluation(name=bc.CATEGORY, value=bc.CATEGORIES[reading.category])
        )
    return MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=generate_uid(), identifier=label),
        method=bc.METHODS[method],
        algorithm_id=algorithm,
        finding_sites=[FindingSite(anatomic_location=bc.HAND)],
        measurements=measurements,
        qualitative_evaluations=evaluations or None,
    )


def _person_name(name: str) -> str:
    """A display name as a DICOM person name (Family^Given): "Ada Lovelace" -> Lovelace^Ada."""
    if "^" in name or " " not in name.strip():
        return name.strip()
    given, _, family = name.strip().rpartition(" ")
    return f"{family}^{given}"

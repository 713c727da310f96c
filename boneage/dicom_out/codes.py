"""The codes the DICOM results use, each from the scheme that defines it.

Standard codes where one exists: LOINC 85151-9 "XR Bone age" for every bone age (the code FHIR
results use too), UCUM ``mo`` for months, DICOM (DCM) for the TID 1500 structure and the subject's
age and Z-score, SNOMED CT (SCT) for the hand. What no standard names (which path produced an
estimate, the category of a reading, the width of an interval, a training data set) is coded in
this project's private scheme :data:`SCHEME`: a designator starting with ``99`` is private by
PS3.16 (8.2), so a reader knows it is not a standard code rather than mistaking it for one.
"""

from __future__ import annotations

from highdicom.sr import CodedConcept
from pydicom.sr.codedict import codes

from boneage.report.standard import GREULICH_PYLE_RSNA

SCHEME = "99BONEAGE"
"""The private coding scheme of this project's own concepts (documented in docs/dicom.md)."""

BONE_AGE = CodedConcept("85151-9", "LN", "XR Bone age")
MONTHS = codes.UCUM.Month
NO_UNITS = CodedConcept("1", "UCUM", "no units")
SUBJECT_AGE = codes.DCM.SubjectAge
"""The chronological age: DCM 121033 "Subject Age"."""
Z_SCORE = codes.DCM.ZScore
"""The SDS of the reading: DCM 113071 "Z-score"."""
HAND = codes.SCT.Hand
IMAGING_MEASUREMENT_REPORT = codes.DCM.ImagingMeasurementReport
BONE_AGE_METHOD = CodedConcept("85150-1", "LN", "Bone age method")
"""The standard a bone age is equivalent to, as a qualitative evaluation of each bone age."""
STANDARDS = {GREULICH_PYLE_RSNA: CodedConcept("GP-RSNA2017", SCHEME, GREULICH_PYLE_RSNA)}
"""Each standard of :mod:`boneage.report.standard` (LOINC's answer list names the atlas, not
whose labels a model learnt, so the concept is this project's own)."""
PROCEDURE_BONE_AGE = CodedConcept("77072", "C4", "Bone age studies")
"""The procedure reported: CPT 77072 (DICOM's designator of CPT-4 is ``C4``)."""
FINDING = codes.DCM.Finding
USER_CHOSEN_VALUE = codes.DCM.UserChosenValue
"""DCM 121410 "User chosen value": the signed bone age is the one of record."""
ALGORITHM_FAMILY = codes.DCM.ArtificialIntelligence
PROCESSING_EQUIPMENT = codes.DCM.ProcessingEquipment

DIFFERENCE = CodedConcept("BA-CA", SCHEME, "Bone age minus chronological age")
INTERVAL_LOW = CodedConcept("PI90-LOW", SCHEME, "Lower limit of 90 % interval")
INTERVAL_HIGH = CodedConcept("PI90-HIGH", SCHEME, "Upper limit of 90 % interval")
CATEGORY = CodedConcept("CATEGORY", SCHEME, "Bone age against chronological age")
TRAINING_DATA = CodedConcept("TRAINING-DATA", SCHEME, "Model training data")

METHODS = {
    "multistep": CodedConcept("MULTISTEP", SCHEME, "Multi-step (segment, measure, look up)"),
    "endtoend": CodedConcept("ENDTOEND", SCHEME, "End-to-end CNN"),
    "combined": CodedConcept("COMBINED", SCHEME, "Combined estimate"),
    "signed": CodedConcept("SIGNED", SCHEME, "Read and signed by a radiologist"),
}
"""The ``method`` of each bone age measurement: which path gave it."""

CATEGORIES = {
    "delayed": CodedConcept("DELAYED", SCHEME, "Delayed"),
    "within normal": CodedConcept("NORMAL", SCHEME, "Within normal"),
    "advanced": CodedConcept("ADVANCED", SCHEME, "Advanced"),
    "not determined": CodedConcept("UNDETERMINED", SCHEME, "Not determined"),
}

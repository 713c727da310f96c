"""What an upload says about the child, settled against what its file says, and the child's age.

A value given with the file (a form or API field) and the same fact in the file's DICOM tags must
agree: a film filed under another sex, birth date, exam date, patient or examination gets another
child's estimate or lands in another patient's record. A contradiction is refused
(``TagContradiction``) naming both values, unless the caller names the field in ``override_tags``
on purpose; the override is then kept on the study, in words, and stated on its report.

Ages are those a child has: 0 to 240 months, whatever their source (a field, the dates, the DICOM
PatientAge), beyond which neither the reference tables nor the network were made.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, fields, replace
from datetime import date

from django.utils import timezone

from boneage.radiograph import PatientIdentity, Radiograph
from clinic.errors import InvalidStudyData, TagContradiction

DAYS_PER_MONTH = 30.4375
"""Mean Gregorian month (365.25 / 12 days): the unit of every age in the engine's contract."""

AGE_TOLERANCE_MONTHS = 1.0
"""How far a given chronological age may lie from the age its dates give: rounding to whole
months, not a different child."""

MAX_AGE_MONTHS = 240.0
"""The oldest child assessed (20 years): the reference tables and the network end there."""

TAG_OF_FIELD = {
    "sex": "PatientSex",
    "birth_date": "PatientBirthDate",
    "exam_date": "StudyDate",
    "patient_id": "PatientID",
    "accession_number": "AccessionNumber",
    "study_instance_uid": "StudyInstanceUID",
}
"""The fields a caller may give that a DICOM file also tags, and the tag; the names
``override_tags`` takes."""

_MAX_LENGTH = {"patient_name": 128}
_DEFAULT_MAX_LENGTH = 64


@dataclass(frozen=True)
class StudyFacts:
    """What is known about the child and the examination, from the caller or from the file;
    None or empty when not known."""

    sex: str | None = None
    birth_date: date | None = None
    exam_date: date | None = None
    patient_id: str = ""
    patient_name: str = ""
    accession_number: str = ""
    study_instance_uid: str = ""

    @classmethod
    def of_file(cls, radiograph: Radiograph) -> StudyFacts:
        identity = radiograph.identity
        return cls(
            sex=radiograph.sex,
            birth_date=radiograph.birth_date,
            exam_date=radiograph.study_date,
            patient_id=identity.patient_id,
            patient_name=identity.patient_name,
            accession_number=identity.accession_number,
            study_instance_uid=identity.study_instance_uid,
        )

    def identity(self, sop_instance_uid: str) -> PatientIdentity:
        """The identifiers as the file's type holds them, with the file's own instance UID."""
        return PatientIdentity(
            patient_id=self.patient_id,
            patient_name=self.patient_name,
            accession_number=self.accession_number,
            study_instance_uid=self.study_instance_uid,
            sop_instance_uid=sop_instance_uid,
        )


@dataclass(frozen=True)
class Settled:
    """The facts a study is filed under, and each override of the file's tags in words."""

    facts: StudyFacts
    overrides: tuple[str, ...] = ()


def override_names(override_tags: Collection[str]) -> frozenset[str]:
    """The fields named in ``override_tags``; an unknown name is refused with the known ones."""
    names = frozenset(name.strip() for name in override_tags if name.strip())
    unknown = sorted(names - TAG_OF_FIELD.keys())
    if unknown:
        raise InvalidStudyData(
            f"override_tags names {', '.join(unknown)}, which no DICOM tag is compared with; "
            f"it takes {', '.join(TAG_OF_FIELD)}."
        )
    return names


def settle(
    given: StudyFacts, tagged: StudyFacts, *, override_tags: Collection[str] = ()
) -> Settled:
    """Each fact as given, else as the file tags it; a given value the file contradicts is
    ``TagContradiction`` unless its field is in ``override_tags``. The patient name is never
    compared (a name is written in many ways); the identifiers are cut to their columns."""
    overriding = override_names(override_tags)
    settled, contradictions, overrides = {}, [], []
    for field in fields(StudyFacts):
        name = field.name
        value, tag_value = getattr(given, name), getattr(tagged, name)
        if name in TAG_OF_FIELD and value and tag_value and value != tag_value:
            words = (
                f"{_words(name)} given ({value}) {{}} the file's {TAG_OF_FIELD[name]} ({tag_value})"
            )
            if name in overriding:
                kept = words.format("was kept over")
                overrides.append(f"{kept[0].upper()}{kept[1:]}, on purpose.")
            else:
                contradictions.append((name, words.format("does not match")))
        chosen = value or tag_value
        if isinstance(chosen, str):
            chosen = chosen[: _MAX_LENGTH.get(name, _DEFAULT_MAX_LENGTH)]
        settled[name] = chosen
    if contradictions:
        names = ",".join(name for name, _ in contradictions)
        raise TagContradiction(
            "The "
            + "; the ".join(words for _, words in contradictions)
            + ". Check that this is the right patient's film. To file it with the value given "
            f"on purpose, send it again with override_tags={names}; the report will say so.",
            fields=tuple(name for name, _ in contradictions),
        )
    return Settled(facts=replace(given, **settled), overrides=tuple(overrides))


def _words(name: str) -> str:
    return {"patient_id": "patient ID", "study_instance_uid": "study instance UID"}.get(
        name, name.replace("_", " ")
    )


def age_in_months(birth_date: date, exam_date: date) -> float:
    """Chronological age in months between two dates (mean Gregorian months)."""
    return (exam_date - birth_date).days / DAYS_PER_MONTH


def check_given_dates(
    birth_date: date | None, exam_date: date | None, chronological_age_months: float | None
) -> None:
    """Refuse what the caller gave that cannot be true: a date in the future, or dates and an
    age that describe two different children."""
    today = timezone.localdate()
    if birth_date and birth_date > today:
        raise InvalidStudyData(f"The date of birth {birth_date} is in the future.")
    if exam_date and exam_date > today:
        raise InvalidStudyData(f"The exam date {exam_date} is in the future.")
    if birth_date and exam_date and chronological_age_months is not None:
        from_dates = age_in_months(birth_date, exam_date)
        if abs(from_dates - chronological_age_months) > AGE_TOLERANCE_MONTHS:
            raise InvalidStudyData(
                f"The dates give an age of {from_dates:.1f} months, but the chronological age "
                f"was given as {chronological_age_months:g} months: send one or the other, or "
                "correct them."
            )


def resolve_age(
    facts: StudyFacts, *, chronological_age_months: float | None, age_from_file: float | None
) -> float | None:
    """The chronological age: the one given, else the one the dates give, else the file's
    PatientAge, else unknown (None); an age outside 0 to 240 months is refused, naming where it
    came from."""
    birth_date, exam_date = facts.birth_date, facts.exam_date
    if birth_date and exam_date and exam_date < birth_date:
        raise InvalidStudyData("The exam date is before the date of birth.")
    if chronological_age_months is not None:
        age, source = float(chronological_age_months), "The chronological age given"
    elif birth_date and exam_date:
        age = age_in_months(birth_date, exam_date)
        source = f"The date of birth {birth_date} and the exam date {exam_date} give an age that"
    elif age_from_file is not None:
        age, source = float(age_from_file), "The file's DICOM PatientAge"
    else:
        return None
    if not 0 <= age <= MAX_AGE_MONTHS:
        raise InvalidStudyData(
            f"{source} is {age:.0f} months; ages from 0 to {MAX_AGE_MONTHS:.0f} months (20 years) "
            "are assessed. Correct the value (a mistyped date or age?)."
        )
    return age

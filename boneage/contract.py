"""The assessment contract: the one typed definition of what an assessment says.

:func:`boneage.assess.assess` builds every result from these objects, stage by stage (the
quality stage's checks, the multi-step path's estimate, the agreement), and everything that reads
a stored assessment back (the clinic's pages, FHIR, the chart, the REST API, the test fixtures)
reads it through :func:`read_assessment`, so a field renamed in one place fails loudly instead of
turning into an empty cell somewhere else. The JSON
Schema users integrate against is generated from these models (:func:`json_schema`, committed as
``docs/assessment.schema.json``). ``schema_version`` changes only with a breaking change; added
optional fields keep it.

pydantic (already a dependency through fhir.resources) does the validation and the schema;
nothing here is computed: the stages of the engine produce the values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

Interval = tuple[float, float]
Category = Literal["delayed", "within normal", "advanced", "not determined"]
Method = Literal["multistep", "endtoend"]
ReadingSource = Literal["multistep", "endtoend", "combined"]
"""An estimate a reading against chronological age can rest on: either path, or both pooled."""


class _Record(BaseModel):
    """Frozen, and strict about names: an unknown key is a drifted producer, not data."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class InputFacts(_Record):
    """What was assessed: the sex used and where it came from, the file's format and geometry."""

    sex: Literal["F", "M"]
    sex_source: Literal["argument", "dicom"]
    source_format: str = Field(description="PNG, JPEG or DICOM, sniffed from the bytes")
    bit_depth: int | None = None
    spacing_mm: Interval | None = Field(None, description="(row, column) pixel spacing")
    spacing_source: str | None = None
    laterality: str | None = Field(None, description="L or R as read, None when unknown")
    chronological_age_months: float | None = None


class BoneRow(_Record):
    """One measured bone, centre or joint region; a quantity carries its unit in its name."""

    bone: str
    kind: str = Field(description="long, epiphysis, carpal, ...")
    length_mm: float | None = None
    length_ratio: float | None = None
    ratio_base: str | None = Field(None, description="what length_ratio divides by")
    width_mm: float | None = None
    area_mm2: float | None = None
    length_px: float | None = None
    width_px: float | None = None
    area_px: float | None = None
    relative_size: float | None = None
    physis_fused: bool | None = None
    age_months: float | None = Field(None, description="the age this bone alone reads")
    outlier: bool = False


class Ossification(_Record):
    """Which ossification centres a bone segmentation found, and which physes look fused."""

    present: list[str] = []
    absent: list[str] = []
    physes_fused: list[str] = []
    physes_open: list[str] = []


class JointReadout(_Record):
    """One joint region of the landmark U-Net and the ossified epiphysis inside it."""

    region_px: int
    epiphysis_px: int
    region_width_px: float
    epiphysis_width_px: float
    epiphysis_height_px: float


class LandmarkReadout(_Record):
    """What the landmark U-Net located: the hand's scale, joint-to-joint lengths, joints."""

    scale_px: float | None = Field(description="distal radius to third MCP joint")
    lengths_px: dict[str, float]
    joints: dict[str, JointReadout]
    missing_landmarks: list[str] = []


class PartAge(_Record):
    """The age one group of bones (carpal or tubular) reads, with its 90 % interval."""

    age_months: float
    interval_months: Interval


class Maturity(_Record):
    """Carpal and tubular maturity apart, and their asynchrony in words when it is real."""

    carpal: PartAge | None = None
    tubular: PartAge | None = None
    asynchrony: str | None = None


class Estimate(_Record):
    """One path's answer: an age with its 90 % interval, or the rejection in words."""

    rejected: str | None = Field(None, description="why this path gave no estimate")
    age_months: float | None = None
    interval_months: Interval | None = Field(None, description="90 % interval, months")
    model: dict[str, str] = Field({}, description="role -> model ident (name@version)")
    note: str | None = Field(None, description="the data-size confidence note, in full")
    note_summary: str | None = Field(None, description="the note in one sentence")
    edge: str | None = Field(
        None,
        description="where the estimate sits at the edge of what its models learnt, in words: "
        "what was cut to the training labels' range (0 to 228 months), or a hand past the "
        "reference table's youngest or oldest",
    )

    @property
    def answered(self) -> bool:
        """Whether this path gave an age with its interval (else ``rejected`` says why)."""
        return self.age_months is not None and self.interval_months is not None


class MultistepEstimate(Estimate):
    """The multi-step estimate and the measurements it rests on."""

    spacing_mode: Literal["absolute_mm", "ratios"] | None = None
    reference: str | None = Field(None, description="the reference table's ident")
    bones: list[BoneRow] = []
    outliers: list[str] = []
    ossification: Ossification | None = None
    fragmented_fraction: float | None = None
    landmarks: LandmarkReadout | None = None
    maturity: Maturity | None = None
    landmark_warning: str | None = Field(
        None,
        description="the fingers' joint chains cross: which bones, in words (the study is "
        "flagged for review)",
    )

    @property
    def physes_read(self) -> bool:
        """Whether any bone says whether its physis is fused (the landmark path reads none)."""
        return any(bone.physis_fused is not None for bone in self.bones)


class EndtoendEstimate(Estimate):
    """The end-to-end CNN's estimate."""

    framing: Literal["canonical", "field"] | None = Field(
        None,
        description="what the CNN read: the canonical hand crop, or the whole film when the "
        "palm landmarks did not place the hand (the corrections say why); None for a model "
        "directory that has only the whole-film CNN",
    )


class CombinedEstimate(Estimate):
    """One estimate from both paths (:mod:`boneage.combined`), or why there is none."""

    rule: str | None = Field(None, description="how the two estimates were pooled, in words")


class AgreementRecord(_Record):
    """Whether the two estimates agree, judged against their combined uncertainty."""

    agree: bool | None = Field(description="None when fewer than two estimates exist")
    difference_months: float | None = Field(description="end-to-end minus multi-step")
    flag_for_review: bool
    reason: str
    limit_months: float | None = Field(None, description="largest difference that agrees")


class Check(_Record):
    """One image check, passed or not, with what it saw."""

    name: str
    passed: bool
    detail: str
    informative: bool = Field(
        False,
        description="a check that did not pass but changed nothing the estimates rest on (the "
        "film was read as acquired, or treated as a left hand): shown as a note, not a failure",
    )


class QualityRecord(_Record):
    """The image checks, the corrections made (in words), and the rejection if any."""

    checks: list[Check]
    corrections: list[str]
    rejected: str | None = None


class BandOdds(_Record):
    """How likely the bone age lies below, within or beyond ±2 SD of the chronological age."""

    delayed: float
    within_normal: float
    advanced: float


class Reading(_Record):
    """A bone age read against the chronological age."""

    age_months: float = Field(description="the chronological age")
    difference_months: float
    sds: float
    category: Category
    sd_source: str
    category_reason: str = ""
    sds_interval: Interval | None = None
    odds: BandOdds | None = Field(None, description="each band's probability")
    sds_note: str | None = Field(None, description="why the SDS is clipped or rests on a held SD")


class ChronologicalRecord(_Record):
    """The chronological age and, when an estimate exists, the reading of the combined
    estimate, else of the path with the smaller measured error (``based_on``), and the reading
    of each estimate (``by_method``)."""

    age_months: float
    difference_months: float | None = None
    sds: float | None = None
    category: Category | None = None
    sd_source: str | None = None
    category_reason: str = ""
    sds_interval: Interval | None = None
    odds: BandOdds | None = None
    sds_note: str | None = None
    based_on: ReadingSource | None = None
    by_method: dict[ReadingSource, Reading] = {}


class ModelSummary(_Record):
    """The part of a model card a report carries."""

    id: str
    kind: str
    architecture: str
    training_data: dict[str, Any] = Field(description="kind, size, seeds, description")
    held_out: dict[str, Any] = Field(description="kind, size, mae_months, coverage_90, metrics")
    file_sha256: str
    created: str
    code_version: str


class AssessmentRecord(_Record):
    """Everything one assessment found (``boneage assess --json``, ``Report.assessment``)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    input: InputFacts
    multistep: MultistepEstimate
    endtoend: EndtoendEstimate
    agreement: AgreementRecord
    quality: QualityRecord
    models: dict[str, ModelSummary]
    chronological: ChronologicalRecord | None = None
    combined: CombinedEstimate | None = Field(
        None, description="both paths pooled; absent when the model folder has no rule"
    )
    standard: str | None = Field(
        None,
        description="the standard the bone ages are equivalent to: the one that labelled the "
        "models' training films (None for models trained on other labels)",
    )

    def estimates(self) -> dict[Method, Estimate]:
        return {"multistep": self.multistep, "endtoend": self.endtoend}

    def reading_estimates(self) -> dict[ReadingSource, Estimate]:
        """Both paths' estimates and, when the model folder has its rule, the combined one."""
        combined: dict[ReadingSource, Estimate] = (
            {"combined": self.combined} if self.combined is not None else {}
        )
        return {**self.estimates(), **combined}

    def estimate_of(self, source: ReadingSource) -> Estimate | None:
        """One of :meth:`reading_estimates` by its name (None for a combined estimate the
        model folder cannot give)."""
        return self.reading_estimates().get(source)

    def to_json(self) -> dict[str, Any]:
        """The JSON object, with exactly the keys the producer set."""
        return self.model_dump(mode="json", exclude_unset=True)


def read_assessment(data: Mapping[str, Any]) -> AssessmentRecord:
    """A stored or received assessment as the typed record; pydantic's ``ValidationError``
    names the field when it does not follow the contract."""
    return AssessmentRecord.model_validate(data)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the assessment contract."""
    schema = AssessmentRecord.model_json_schema()
    schema["$id"] = f"urn:boneage:assessment:v{SCHEMA_VERSION}"
    return schema

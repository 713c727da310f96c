"""The REST API views: validate with a nested InputSerializer, call one service or selector,
render with a nested OutputSerializer (docs/standards.md, "Code layout"). No logic lives here.

Every view authenticates a Bearer token first (an anonymous call is a 401, docs/standards.md), then
a browser session; every read goes through the institution-scoped selectors, so another
institution's study is a 404.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boneage.errors import MissingSex
from clinic import engine
from clinic.api.authentication import ApiTokenAuthentication
from clinic.api.errors import api_exception_handler
from clinic.api.selectors import study_api_list, study_fhir_context
from clinic.api.throttling import ApiTokenRateThrottle
from clinic.downloads import file_response
from clinic.fhir import diagnostic_report, operation_outcome
from clinic.intake import TAG_OF_FIELD
from clinic.models import Review, Sex, Study
from clinic.selectors import review_reading, study_file, study_get
from clinic.services import study_submit

IDEMPOTENCY_KEY_MAX_LENGTH = Study._meta.get_field("idempotency_key").max_length


class ErrorOutput(serializers.Serializer):
    class Meta:
        ref_name = "Error"

    detail = serializers.CharField(help_text="What went wrong, in words.")
    code = serializers.CharField(help_text="Stable snake_case code, e.g. `upload_too_large`.")


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an endpoint, always with 401, 429 and 503."""
    words = {
        400: "Invalid metadata: `{field: [messages]}`, or `{detail, code}` (a value the file's "
        "DICOM tag contradicts is `tag_contradiction`; a request Django refused before the view "
        "is `too_many_fields_sent` or `too_many_files_sent`).",
        401: "Missing, invalid or revoked token.",
        403: "Authenticated, but the user belongs to no institution.",
        404: "No such study in the caller's institution.",
        409: "The study has no report yet (`report_not_ready`), or an Idempotency-Key, "
        "accession number or SOP Instance UID repeated with another image or sex "
        "(`submission_conflict`).",
        413: "The file is over the size or pixel limit, or the text fields over the memory limit "
        "(`request_data_too_big`).",
        415: "Not a decodable PNG, JPEG or DICOM image, or not multipart/form-data.",
        429: "Too many requests for this token; see `Retry-After`.",
        503: "The database or the media storage is not answering: nothing was stored; send the "
        "same request again after `Retry-After` seconds.",
    }
    wanted = sorted({*codes, 401, 429, 503})
    return {
        code: OpenApiResponse(
            response=OpenApiTypes.OBJECT if code == 400 else ErrorOutput, description=words[code]
        )
        for code in wanted
    }


class ApiView(APIView):
    """Authentication, permission, throttle and error words shared by every endpoint."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [ApiTokenRateThrottle]

    def get_exception_handler(self) -> Any:
        return api_exception_handler


@extend_schema_field(
    {"type": "object", "nullable": True, "additionalProperties": True},
)
class AssessmentField(serializers.JSONField):
    """The assessment JSON exactly as ``boneage assess --json`` prints it; its JSON Schema is
    docs/assessment.schema.json, generated from ``boneage.contract``."""


STUDY_ID = OpenApiParameter(
    "study_id",
    {"type": "integer", "minimum": 1},
    OpenApiParameter.PATH,
    description="The study's id, as returned by the upload.",
)
_NULLABLE_URI = {"type": "string", "format": "uri", "nullable": True}


class ReviewOutput(serializers.Serializer):
    class Meta:
        ref_name = "Review"

    decision = serializers.CharField(help_text="`accepted` or `corrected`.")
    accepted_method = serializers.CharField(
        help_text="`multistep` or `endtoend`: the estimate accepted as shown; empty if corrected."
    )
    bone_age_months = serializers.FloatField(help_text="The signed bone age, months.")
    reason = serializers.CharField(help_text="Why the bone age was corrected; empty if accepted.")
    reviewer = serializers.CharField(source="reviewer.get_username")
    signed_at = serializers.DateTimeField()
    reading = serializers.SerializerMethodField(
        help_text="This signature's bone age against the chronological age (difference, SDS, "
        "category); the latest signature's is the reading of record. Null without a "
        "chronological age."
    )

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_reading(self, review: Review) -> dict[str, Any] | None:
        return review_reading(review)


class StudyOutput(serializers.Serializer):
    """A study, its status and, once done, its report and review."""

    class Meta:
        ref_name = "Study"

    class UrlsOutput(serializers.Serializer):
        class Meta:
            ref_name = "StudyUrls"

        self = serializers.SerializerMethodField()
        overlay = serializers.SerializerMethodField()
        chart = serializers.SerializerMethodField()
        fhir = serializers.SerializerMethodField()

        def _url(self, name: str, study: Study) -> str:
            path = reverse(f"api:{name}", kwargs={"study_id": study.pk})
            return self.context["request"].build_absolute_uri(path)

        @extend_schema_field(OpenApiTypes.URI)
        def get_self(self, study: Study) -> str:
            return self._url("study-detail", study)

        @extend_schema_field(_NULLABLE_URI)
        def get_overlay(self, study: Study) -> str | None:
            report = getattr(study, "report", None)
            return self._url("study-overlay", study) if report and report.overlay else None

        @extend_schema_field(_NULLABLE_URI)
        def get_chart(self, study: Study) -> str | None:
            report = getattr(study, "report", None)
            return self._url("study-chart", study) if report and report.chart else None

        @extend_schema_field(_NULLABLE_URI)
        def get_fhir(self, study: Study) -> str | None:
            return self._url("study-fhir", study) if hasattr(study, "report") else None

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Study.Status.choices)
    failure_reason = serializers.CharField(help_text="Why the assessment failed, in words.")
    sex = serializers.ChoiceField(choices=Sex.choices)
    birth_date = serializers.DateField(allow_null=True)
    exam_date = serializers.DateField(allow_null=True)
    chronological_age_months = serializers.FloatField(allow_null=True)
    patient_id = serializers.CharField(help_text="Given, or DICOM PatientID; empty if neither.")
    patient_name = serializers.CharField(help_text="Given, or DICOM PatientName (Family, Given).")
    accession_number = serializers.CharField(help_text="Given, or DICOM AccessionNumber.")
    study_instance_uid = serializers.CharField(help_text="Given, or DICOM StudyInstanceUID.")
    tag_overrides = serializers.ListField(
        child=serializers.CharField(),
        help_text="Each value given that was kept over the file's contradicting DICOM tag "
        "(`override_tags`), in words; empty when none.",
    )
    source_format = serializers.CharField(help_text="`PNG`, `JPEG` or `DICOM`, sniffed.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    urls = UrlsOutput(source="*")
    report = AssessmentField(source="report.assessment", allow_null=True)
    review = ReviewOutput(
        source="report.review",
        allow_null=True,
        help_text="The signature of record: the latest one; null before sign-off.",
    )
    signatures = serializers.SerializerMethodField(
        help_text="Every signature, oldest first: a correction after sign-off is a new one, "
        "and the earlier ones are kept."
    )

    @extend_schema_field(ReviewOutput(many=True))
    def get_signatures(self, study: Study) -> list[dict[str, Any]]:
        report = getattr(study, "report", None)
        reviews = report.reviews.all() if report is not None else []
        return ReviewOutput(reviews, many=True, context=self.context).data


class StudyPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class StudyListCreateApi(ApiView, GenericAPIView):
    """``/api/v1/studies/``: list the institution's studies, or submit a radiograph."""

    pagination_class = StudyPagination
    parser_classes = [MultiPartParser]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Study.Status.choices, required=False)
        accession_number = serializers.CharField(required=False, max_length=64)
        created_after = serializers.DateTimeField(
            required=False, help_text="Created at or after (ISO 8601)."
        )
        created_before = serializers.DateTimeField(
            required=False, help_text="Created before (ISO 8601)."
        )

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "StudyUpload"

        image = serializers.FileField(help_text="PNG, JPEG or DICOM; the type is sniffed.")
        sex = serializers.ChoiceField(
            choices=Sex.choices, required=False, help_text="Required unless in the DICOM tags."
        )
        birth_date = serializers.DateField(required=False)
        exam_date = serializers.DateField(required=False)
        chronological_age_months = serializers.FloatField(
            required=False, min_value=0, max_value=240
        )
        accession_number = serializers.CharField(required=False, max_length=64)
        patient_id = serializers.CharField(required=False, max_length=64)
        patient_name = serializers.CharField(required=False, max_length=128)
        study_instance_uid = serializers.CharField(required=False, max_length=64)
        override_tags = serializers.CharField(
            required=False,
            max_length=200,
            help_text="Comma-separated fields whose value given is kept over the file's "
            f"contradicting DICOM tag, on purpose ({', '.join(TAG_OF_FIELD)}); the report "
            "states each override.",
        )

        def validate_override_tags(self, value: str) -> list[str]:
            return [name.strip() for name in value.split(",") if name.strip()]

    def get_serializer_class(self) -> type[serializers.Serializer]:
        """What ``OPTIONS`` describes: the fields an upload takes."""
        return self.InputSerializer

    @extend_schema(
        operation_id="studies_list",
        summary="List the institution's studies",
        description="Newest first, paginated by `limit` and `offset`.",
        tags=["studies"],
        parameters=[FilterSerializer],
        responses={200: StudyOutput(many=True), **_errors(400)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        studies = study_api_list(user=request.user, **filters.validated_data)
        page = self.paginate_queryset(studies)
        return self.get_paginated_response(
            StudyOutput(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        operation_id="studies_create",
        summary="Submit a hand radiograph",
        description=(
            "Stores the image and queues its assessment; poll the study's URL until `status` is "
            "`done` or `failed`. Nothing is stored when the request is rejected."
        ),
        tags=["studies"],
        request={"multipart/form-data": InputSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description=(
                    "Any string up to 255 characters; a repeated key returns the first study "
                    "(200) instead of creating another, or 409 when it comes with another image "
                    "or sex."
                ),
            )
        ],
        responses={
            201: OpenApiResponse(StudyOutput, description="Stored and queued for assessment."),
            200: OpenApiResponse(
                StudyOutput,
                description="A repeated Idempotency-Key, accession number or SOP Instance UID "
                "(given or in the DICOM tags): the earlier study.",
            ),
            **_errors(400, 403, 409, 413, 415),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
            raise serializers.ValidationError(
                {"Idempotency-Key": [f"At most {IDEMPOTENCY_KEY_MAX_LENGTH} characters."]}
            )
        fields = dict(data.validated_data)
        image = fields.pop("image")
        try:
            submission = study_submit(user=request.user, file=image, idempotency_key=key, **fields)
        except MissingSex as error:
            raise serializers.ValidationError({"sex": [str(error)]}) from error
        code = status.HTTP_201_CREATED if submission.created else status.HTTP_200_OK
        return self._study_response(request, submission.study, code)

    @staticmethod
    def _study_response(request: Request, study: Study, code: int) -> Response:
        body = StudyOutput(study, context={"request": request}).data
        return Response(body, status=code, headers={"Location": body["urls"]["self"]})


class StudyDetailApi(ApiView):
    """``/api/v1/studies/{id}/``: status, and once done the report and its review."""

    @extend_schema(
        operation_id="studies_retrieve",
        summary="A study: status, report and review",
        description=(
            "`report` is the assessment exactly as `boneage assess --json` prints it, once "
            "`status` is `done`; `review` is the clinician's sign-off, once signed."
        ),
        tags=["studies"],
        parameters=[STUDY_ID],
        responses={200: StudyOutput, **_errors(404)},
    )
    def get(self, request: Request, study_id: int) -> Response:
        study = study_get(user=request.user, study_id=study_id)
        return Response(StudyOutput(study, context={"request": request}).data)


class StudyImageApi(ApiView):
    """A PNG of a done study: the segmentation overlay or the bone-age chart."""

    kind = ""

    @extend_schema(
        summary="An image of the report (PNG)",
        tags=["studies"],
        parameters=[STUDY_ID],
        responses={
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="PNG image."),
            **_errors(404),
        },
    )
    def get(self, request: Request, study_id: int) -> HttpResponse:
        return file_response(study_file(user=request.user, study_id=study_id, kind=self.kind))


@extend_schema_view(
    get=extend_schema(
        operation_id="studies_overlay",
        description="The radiograph as assessed, with the segmented bones drawn over it.",
    )
)
class StudyOverlayApi(StudyImageApi):
    kind = "overlay"


@extend_schema_view(
    get=extend_schema(
        operation_id="studies_chart",
        description="Bone age against chronological age, with the ±2 SD normal band.",
    )
)
class StudyChartApi(StudyImageApi):
    kind = "chart"


class FhirJSONRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


class StudyFhirApi(ApiView):
    """``/api/v1/studies/{id}/fhir/``: the report as a FHIR R4 DiagnosticReport."""

    renderer_classes = [FhirJSONRenderer, JSONRenderer]

    class FilterSerializer(serializers.Serializer):
        accession_number = serializers.CharField(
            required=False,
            max_length=64,
            help_text="Echoed into the report's identifier if it matches the stored one.",
        )
        patient_id = serializers.CharField(
            required=False,
            max_length=64,
            help_text="Echoed into the report's subject if it matches the stored one.",
        )

    def handle_exception(self, exc: Exception) -> Response:
        """Errors of a FHIR request are FHIR too: an ``OperationOutcome`` when the answer is
        ``application/fhir+json``, the usual ``{detail, code}`` when plain JSON was asked for."""
        response = super().handle_exception(exc)
        renderer = getattr(self.request, "accepted_renderer", None)
        if response.status_code >= 400 and isinstance(renderer, FhirJSONRenderer):
            response.data = operation_outcome(response.status_code, response.data)
        return response

    @extend_schema(
        operation_id="studies_fhir",
        summary="The report as a FHIR R4 DiagnosticReport",
        tags=["fhir"],
        parameters=[STUDY_ID, FilterSerializer],
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description=(
                    "FHIR R4 DiagnosticReport (LOINC 85151-9) with contained Observations; "
                    "status `preliminary` until a clinician signs it, then `final`."
                ),
                examples=[
                    OpenApiExample(
                        "DiagnosticReport",
                        value={"resourceType": "DiagnosticReport", "status": "preliminary"},
                    )
                ],
            ),
            **{
                code: OpenApiResponse(
                    OpenApiTypes.OBJECT,
                    description=f"A FHIR OperationOutcome ({answer.description}); `{{detail, "
                    "code}` when plain JSON was asked for.",
                )
                for code, answer in _errors(400, 404, 409).items()
            },
        },
    )
    def get(self, request: Request, study_id: int) -> Response:
        identifiers = self.FilterSerializer(data=request.query_params)
        identifiers.is_valid(raise_exception=True)
        study = study_get(user=request.user, study_id=study_id)
        context = study_fhir_context(study=study, **identifiers.validated_data)
        report = diagnostic_report(engine.read_assessment(study.report.assessment), context)
        return Response(json.loads(report.model_dump_json()))

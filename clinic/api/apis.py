"""The REST API views: validate with a nested InputSerializer, call one service or selector,
render with a nested OutputSerializer (docs/standards.md, "Code layout"). No logic lives here.

Every view authenticates a Bearer token first (an anonymous call is a 401, docs/standards.md), then
a browser session; every read goes through the institution-scoped selectors, so another
institution's study is a 404.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from boneage.errors import MissingSex
from clinic import engine
from clinic.api.authentication import ApiTokenAuthentication
from clinic.api.errors import api_exception_handler
from clinic.api.outputs import StudyOutput, StudySummaryOutput
from clinic.api.selectors import patient_studies, study_api_list, study_fhir_context
from clinic.api.throttling import ApiTokenRateThrottle
from clinic.downloads import file_response
from clinic.fhir import diagnostic_report, operation_outcome
from clinic.intake import TAG_OF_FIELD
from clinic.models import Sex, Study
from clinic.pdf import pdf_response, study_pdf
from clinic.selectors import patient_visits, study_file, study_get
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
        "DICOM tag contradicts is `tag_contradiction`; a query parameter the endpoint does not "
        "take is `unknown_query_parameter`; a request Django refused before the view is "
        "`too_many_fields_sent` or `too_many_files_sent`).",
        401: "Missing, invalid or revoked token.",
        403: "Authenticated, but the user belongs to no institution.",
        404: "No such study in the caller's institution.",
        409: "The study has no report yet (`report_not_ready`), or an accession number or SOP "
        "Instance UID repeated with another image or sex (`submission_conflict`).",
        413: "The file is over the size or pixel limit, or the text fields over the memory limit "
        "(`request_data_too_big`).",
        415: "Not a decodable PNG, JPEG or DICOM image, or not multipart/form-data.",
        422: "An Idempotency-Key reused with another image or sex (`idempotency_key_reused`): a "
        "retry must repeat the same request.",
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


class UnknownQueryParameter(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "unknown_query_parameter"


class ApiView(APIView):
    """Authentication, permission, throttle and error words shared by every endpoint, and the
    refusal of a query parameter the endpoint does not take: ignored, a misspelt or unsupported
    filter (``?patient=…``) would answer with every study of the institution."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [ApiTokenRateThrottle]

    def get_exception_handler(self) -> Any:
        return api_exception_handler

    def query_names(self) -> set[str]:
        """The query parameters a GET takes: its ``FilterSerializer``'s fields, its pagination's
        and DRF's format override."""
        names = {api_settings.URL_FORMAT_OVERRIDE}
        if filters := getattr(self, "FilterSerializer", None):
            names |= set(filters().fields)
        if paginator := getattr(self, "paginator", None):
            names |= {paginator.limit_query_param, paginator.offset_query_param}
        return names

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD"):
            return
        unknown = sorted(set(request.query_params) - self.query_names())
        if unknown:
            raise UnknownQueryParameter(
                f"This endpoint does not take the query parameter(s) {', '.join(unknown)}; it "
                f"takes {', '.join(sorted(self.query_names()))}."
            )


STUDY_ID = OpenApiParameter(
    "study_id",
    {"type": "integer", "minimum": 1},
    OpenApiParameter.PATH,
    description="The study's id, as returned by the upload.",
)


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
        patient_id = serializers.CharField(
            required=False, max_length=64, help_text="The patient ID, exactly (searched by HMAC)."
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
        description="Newest first, paginated by `limit` and `offset`. Each study carries its "
        "report's key figures (`summary`); its URL gives the whole assessment. A query "
        "parameter not listed here is refused (400 `unknown_query_parameter`).",
        tags=["studies"],
        parameters=[FilterSerializer],
        responses={200: StudySummaryOutput(many=True), **_errors(400)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        studies = study_api_list(user=request.user, **filters.validated_data)
        page = self.paginate_queryset(studies)
        return self.get_paginated_response(
            StudySummaryOutput(page, many=True, context={"request": request}).data
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
                    "(200) instead of creating another, or 422 when it comes with another image "
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
            **_errors(400, 403, 409, 413, 415, 422),
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


class PatientStudiesApi(ApiView, GenericAPIView):
    """``/api/v1/patients/{patient_id}/studies/``: one child's studies across visits."""

    pagination_class = StudyPagination

    @extend_schema(
        operation_id="patients_studies",
        summary="A patient's studies, in the order of the visits",
        description="The institution's studies of this patient ID (matched exactly, by HMAC), "
        "oldest examination first, each with its report's key figures; paginated by `limit` "
        "and `offset`. 404 when the institution has no study of this patient ID.",
        tags=["studies"],
        parameters=[
            OpenApiParameter(
                "patient_id", str, OpenApiParameter.PATH, description="The patient ID."
            )
        ],
        responses={200: StudySummaryOutput(many=True), **_errors(400, 404)},
    )
    def get(self, request: Request, patient_id: str) -> Response:
        studies = patient_studies(user=request.user, patient_id=patient_id)
        page = self.paginate_queryset(studies)
        return self.get_paginated_response(
            StudySummaryOutput(page, many=True, context={"request": request}).data
        )


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


class StudyReportPdfApi(ApiView):
    """``/api/v1/studies/{id}/report.pdf``: the report as a PDF for the patient record."""

    @extend_schema(
        operation_id="studies_report_pdf",
        summary="The report as a PDF",
        description="Signed or marked preliminary; with the film, the overlay, the reading "
        "against chronological age, the chart across visits and every signature.",
        tags=["studies"],
        parameters=[STUDY_ID],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="PDF."),
            **_errors(404, 409),
        },
    )
    def get(self, request: Request, study_id: int) -> HttpResponse:
        study = study_get(user=request.user, study_id=study_id)
        return pdf_response(study, patient_visits(user=request.user, study=study))


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
        if context.sign_off is not None:
            visits = patient_visits(user=request.user, study=study)
            context = replace(context, presented_pdf=study_pdf(study, visits))
        report = diagnostic_report(engine.read_assessment(study.report.assessment), context)
        return Response(json.loads(report.model_dump_json()))

"""``clinic.fhir.diagnostic_report``: a valid FHIR R4 (R4B) DiagnosticReport of an assessment."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from boneage.contract import read_assessment
from boneage.report.chronological import bone_age_sd_months
from clinic.fhir import ReportContext, SignOff, diagnostic_report
from tests.clinic.conftest import contract_assessment

ISSUED = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def _wire(assessment: dict[str, Any], **context: Any) -> dict[str, Any]:
    context = ReportContext(report_id="s-1", issued=ISSUED, **context)
    report = diagnostic_report(read_assessment(assessment), context)
    return json.loads(report.model_dump_json())


def _contained(wire: dict[str, Any], ident: str) -> dict[str, Any]:
    return next(resource for resource in wire["contained"] if resource["id"] == ident)


def test_the_report_round_trips_through_the_r4b_parser():
    wire = _wire(contract_assessment(), exam_date=date(2026, 3, 1), accession_number="A-9")
    parsed = DiagnosticReport.model_validate_json(json.dumps(wire))
    assert json.loads(parsed.model_dump_json()) == wire
    assert wire["resourceType"] == "DiagnosticReport"
    assert wire["identifier"][0]["value"] == "A-9"
    assert wire["effectiveDateTime"] == "2026-03-01"


def test_each_estimate_is_a_loinc_bone_age_observation_in_months_with_its_interval():
    assessment = contract_assessment(multistep=121.4, endtoend=118.9)
    wire = _wire(assessment)
    assert [result["reference"] for result in wire["result"]] == ["#multistep", "#endtoend"]
    for path in ("multistep", "endtoend"):
        observation = _contained(wire, path)
        assert observation["code"]["coding"][0] == {
            "system": "http://loinc.org", "code": "85151-9", "display": "XR Bone age"
        }  # fmt: skip
        quantity = observation["valueQuantity"]
        assert quantity["value"] == assessment[path]["age_months"]
        assert (quantity["system"], quantity["code"]) == ("http://unitsofmeasure.org", "mo")
        interval = observation["component"][0]["valueRange"]
        low, high = assessment[path]["interval_months"]
        assert (interval["low"]["value"], interval["high"]["value"]) == (low, high)
        assert observation["method"]["text"]
        assert observation["note"][0]["text"] == assessment[path]["note"]
        assert observation["status"] == wire["status"] == "preliminary"


def test_the_model_versions_are_named_by_the_device_of_each_estimate():
    wire = _wire(contract_assessment())
    device = _contained(wire, _contained(wire, "multistep")["device"]["reference"][1:])
    versions = {v["type"]["text"]: v["value"] for v in device["version"]}
    assert versions == {"segmentation": "unet-demo-1.0.0", "reference": "reference-default-1.0.0"}


def test_the_reference_range_is_the_normal_band_at_the_chronological_age():
    wire = _wire(contract_assessment())
    band = _contained(wire, "multistep")["referenceRange"][0]
    half = 2 * float(bone_age_sd_months(120.0, "F"))
    assert band["low"]["value"] == pytest.approx(120.0 - half, abs=0.05)
    assert band["high"]["value"] == pytest.approx(120.0 + half, abs=0.05)
    assert _contained(wire, "multistep")["interpretation"][0]["coding"][0]["code"] == "N"


def test_without_a_chronological_age_there_is_no_reference_range():
    assessment = contract_assessment()
    del assessment["chronological"]
    observation = _contained(_wire(assessment), "multistep")
    assert "referenceRange" not in observation and "interpretation" not in observation


def test_a_rejected_estimate_is_an_observation_without_value_saying_why():
    assessment = contract_assessment()
    assessment["endtoend"] = {"rejected": "the image is not a hand"}
    observation = _contained(_wire(assessment), "endtoend")
    assert "valueQuantity" not in observation
    assert observation["dataAbsentReason"]["text"] == "the image is not a hand"


def test_a_signed_report_is_final_with_the_reviewed_bone_age_first():
    sign_off = SignOff(
        reviewer="dr.who", decision="corrected", bone_age_months=130.0, signed_at=ISSUED,
        reason="carpals advanced",
    )  # fmt: skip
    wire = _wire(contract_assessment(), sign_off=sign_off, patient_id="P-3")
    assert wire["status"] == "final"
    assert wire["result"][0]["reference"] == "#reviewed"
    reviewed = _contained(wire, "reviewed")
    assert reviewed["valueQuantity"]["value"] == 130.0
    assert reviewed["performer"] == [{"display": "dr.who"}]
    assert reviewed["subject"]["identifier"]["value"] == "P-3"
    assert {_contained(wire, p)["status"] for p in ("multistep", "endtoend")} == {"final"}
    assert "dr.who" in wire["conclusion"] and "carpals advanced" in wire["conclusion"]


def test_the_conclusion_leads_with_the_combined_estimate_or_why_there_is_none():
    assessment = contract_assessment()
    assessment["combined"] = {"age_months": 120.3, "interval_months": [104.0, 136.6], "rule": "r"}
    conclusion = _wire(assessment)["conclusion"]
    assert conclusion.startswith("Combined estimate: 120.3 months (interval 104.0–136.6).")
    assessment["combined"] = {"rejected": "The two paths differ by 40 months."}
    assert (
        "No combined estimate: The two paths differ by 40 months."
        in _wire(assessment)["conclusion"]
    )
    assert "Combined" not in _wire(contract_assessment())["conclusion"]


def test_each_observation_names_the_standard_its_bone_age_is_equivalent_to():
    assessment = {
        **contract_assessment(),
        "standard": "Greulich & Pyle (RSNA 2017 training labels)",
    }
    wire = _wire(assessment)
    for path in ("multistep", "endtoend"):
        observation = _contained(wire, path)
        method = next(c for c in observation["component"] if "valueString" in c)
        assert method["code"]["coding"][0]["code"] == "85150-1"
        assert method["valueString"] == "Greulich & Pyle (RSNA 2017 training labels)"
        assert observation["method"]["text"].endswith(
            "bone age equivalent to Greulich & Pyle (RSNA 2017 training labels)"
        )
    assert "Bone ages equivalent to Greulich & Pyle" in wire["conclusion"]
    assert "85150-1" not in json.dumps(_wire(contract_assessment()))


def test_each_path_is_interpreted_by_its_own_reading_and_the_conclusion_names_its_source():
    assessment = contract_assessment()
    readings = assessment["chronological"]["by_method"]
    readings["multistep"] = {**readings["multistep"], "category": "advanced"}
    assessment["chronological"]["category_reason"] = "within normal 95 % likely"
    wire = _wire(assessment)
    assert _contained(wire, "multistep")["interpretation"][0]["coding"][0]["code"] == "H"
    assert _contained(wire, "endtoend")["interpretation"][0]["coding"][0]["code"] == "N"
    assert (
        "Chronological age 120.0 months, read from the end-to-end estimate: within normal "
        "(SDS +0.10; within normal 95 % likely)." in wire["conclusion"]
    )


def test_the_combined_estimate_is_an_observation_first_derived_from_both_paths():
    assessment = contract_assessment()
    assessment["combined"] = {"age_months": 120.3, "interval_months": [104.0, 136.6], "rule": "r"}
    wire = _wire(assessment)
    assert [r["reference"] for r in wire["result"]] == ["#combined", "#multistep", "#endtoend"]
    combined = _contained(wire, "combined")
    assert combined["valueQuantity"]["value"] == 120.3
    interval = combined["component"][0]["valueRange"]
    assert (interval["low"]["value"], interval["high"]["value"]) == (104.0, 136.6)
    assert combined["derivedFrom"] == [{"reference": "#multistep"}, {"reference": "#endtoend"}]
    assessment["combined"] = {"rejected": "The two paths differ by 40 months."}
    absent = _contained(_wire(assessment), "combined")
    assert absent["dataAbsentReason"]["text"] == "The two paths differ by 40 months."

"""The assessment contract: one typed definition, its committed schema, strict about names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from boneage.contract import SCHEMA_VERSION, json_schema, read_assessment
from tests.contract_sample import contract_assessment

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "assessment.schema.json"


def test_the_committed_schema_is_the_generated_one():
    """Regenerate docs/assessment.schema.json with ``boneage schema``; this fails until then."""
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema()


def test_boneage_schema_prints_it():
    printed = subprocess.run(
        [sys.executable, "-m", "boneage", "schema"], capture_output=True, check=True, text=True
    ).stdout
    assert json.loads(printed)["$id"] == f"urn:boneage:assessment:v{SCHEMA_VERSION}"


def test_a_stored_assessment_round_trips_with_exactly_its_keys():
    data = contract_assessment()
    assert read_assessment(data).to_json() == data


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["multistep"].update(age_month=3.0), "multistep.age_month"),
        (lambda d: d["chronological"].update(category="late"), "chronological.category"),
        (lambda d: d["input"].update(sex="X"), "input.sex"),
        (lambda d: d["agreement"].pop("reason"), "agreement.reason"),
    ],
)
def test_a_drifted_field_is_refused_by_name(change, field):
    data = contract_assessment()
    change(data)
    with pytest.raises(ValidationError, match=field.replace(".", r"\.")):
        read_assessment(data)

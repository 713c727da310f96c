from __future__ import annotations

import io

from PIL import Image

from boneage.contract import EndtoendEstimate, read_assessment
from boneage.report.chart import render_chart
from tests.contract_sample import contract_assessment


def _assessment(chronological: bool, endtoend: EndtoendEstimate | None = None):
    data = contract_assessment()
    if not chronological:
        del data["chronological"]
    record = read_assessment(data)
    rejected = EndtoendEstimate(rejected="not a hand")
    return record.model_copy(update={"endtoend": endtoend or rejected})


def test_chart_is_a_png_with_and_without_chronological_age() -> None:
    for chronological in (False, True):
        image = Image.open(io.BytesIO(render_chart(_assessment(chronological))))
        assert image.format == "PNG"
        assert image.width > 400 and image.height > 300


def test_chart_differs_when_an_estimate_is_added() -> None:
    one = _assessment(True)
    two = _assessment(True, EndtoendEstimate(age_months=150.0, interval_months=(140.0, 160.0)))
    assert render_chart(one) != render_chart(two)

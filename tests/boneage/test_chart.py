from __future__ import annotations

import io

from PIL import Image

from boneage.chart import render_chart


def _assessment(chronological: dict | None) -> dict:
    estimate = {"age_months": 100.0, "interval_months": [90.0, 110.0]}
    result = {
        "input": {"sex": "M"},
        "multistep": estimate,
        "endtoend": {"rejected": "not a hand"},
    }
    if chronological:
        result["chronological"] = chronological
    return result


def test_chart_is_a_png_with_and_without_chronological_age() -> None:
    for chronological in (None, {"age_months": 96.0}):
        image = Image.open(io.BytesIO(render_chart(_assessment(chronological))))
        assert image.format == "PNG"
        assert image.width > 400 and image.height > 300


def test_chart_differs_when_an_estimate_is_added() -> None:
    one = _assessment({"age_months": 96.0})
    two = {**one, "endtoend": {"age_months": 150.0, "interval_months": [140.0, 160.0]}}
    assert render_chart(one) != render_chart(two)

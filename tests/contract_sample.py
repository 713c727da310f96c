"""A valid assessment for tests that need one without running the models."""

from __future__ import annotations

from typing import Any

from boneage.contract import read_assessment


def contract_assessment(*, multistep: float = 121.4, endtoend: float = 118.9) -> dict[str, Any]:
    """A stored assessment as the engine writes it, validated against the contract so that
    the clinic's tests cannot drift from what the engine produces."""
    reading = {"age_months": 120.0, "sd_source": "Greulich & Pyle 1959"}
    return read_assessment({
        "schema_version": 1,
        "input": {"sex": "F", "sex_source": "argument", "source_format": "PNG",
                  "spacing_mm": None, "spacing_source": None, "laterality": "L"},
        "multistep": {"age_months": multistep, "interval_months": [multistep - 12, multistep + 12],
                      "note": "reference table fitted on 400 phantoms",
                      "model": {"segmentation": "unet-demo-1.0.0",
                                "reference": "reference-default-1.0.0"},
                      "spacing_mode": "ratios",
                      "bones": [{"bone": "metacarpal_3", "kind": "long", "length_mm": None,
                                 "length_ratio": 1.0, "relative_size": None,
                                 "physis_fused": None, "age_months": 119.0, "outlier": False},
                                {"bone": "metacarpal_5", "kind": "long", "length_mm": None,
                                 "length_ratio": 0.62, "relative_size": None,
                                 "physis_fused": None, "age_months": 171.0, "outlier": True},
                                {"bone": "radius_epiphysis", "kind": "epiphysis",
                                 "length_mm": None, "length_ratio": None, "relative_size": 0.87,
                                 "physis_fused": False, "age_months": None, "outlier": False}],
                      "ossification": {"present": ["radius_epiphysis"], "absent": [],
                                       "physes_fused": [], "physes_open": ["radius_epiphysis"]},
                      "outliers": ["metacarpal_5"], "fragmented_fraction": 0.04},
        "endtoend": {"age_months": endtoend, "interval_months": [endtoend - 15, endtoend + 15],
                     "note": "CNN trained on 400 phantoms",
                     "model": {"regression": "cnn-demo-1.0.0"}},
        "agreement": {"agree": abs(multistep - endtoend) < 24,
                      "difference_months": abs(multistep - endtoend),
                      "flag_for_review": abs(multistep - endtoend) >= 24,
                      "reason": "within their combined uncertainty"},
        "quality": {"checks": [{"name": "is_hand", "passed": True, "detail": "hand-like"}],
                    "corrections": []},
        "chronological": {"age_months": 120.0, "difference_months": endtoend - 120.0, "sds": 0.1,
                          "sds_interval": [-0.9, 1.1],
                          "category": "within normal", "based_on": "endtoend",
                          "by_method": {
                              "multistep": {**reading, "difference_months": multistep - 120.0,
                                            "sds": 0.1, "category": "within normal"},
                              "endtoend": {**reading, "difference_months": endtoend - 120.0,
                                           "sds": 0.1, "category": "within normal"}},
                          "sd_source": "Greulich & Pyle 1959"},
        "models": {},
    }).to_json()  # fmt: skip

"""The consistency benchmark: every harmless change keeps a readable film, and the summary
counts what moved."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boneage.evaluation.consistency import CHANGES, format_consistency, measure_consistency
from boneage.radiograph import Radiograph
from boneage.registry import load_models
from tests.boneage.real_sample import RSNA_SAMPLE, real_film, val_ids

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def film() -> Radiograph:
    return Radiograph(pixels=real_film(val_ids()[0]), source_format="JPEG", bit_depth=8)


@pytest.mark.parametrize("name", list(CHANGES))
def test_each_change_keeps_a_film_in_range_and_changes_it(film, name):
    changed = CHANGES[name](film)
    assert changed.pixels.dtype == np.float32 and changed.pixels.ndim == 2
    assert changed.pixels.min() >= 0 and changed.pixels.max() <= 1
    same_shape = changed.pixels.shape == film.pixels.shape
    moved = not same_shape or np.abs(changed.pixels - film.pixels).mean() > 1e-4
    assert moved or changed.bit_depth != film.bit_depth  # 16-bit: the same values, another file


def test_the_geometric_changes_do_what_they_say(film):
    height, width = film.pixels.shape
    assert CHANGES["pad 2× dark"](film).pixels.shape == (2 * height, 2 * width)
    assert CHANGES["resample 0.5×"](film).pixels.shape == (round(height / 2), round(width / 2))
    assert np.array_equal(CHANGES["mirror"](film).pixels, film.pixels[:, ::-1])
    assert np.array_equal(CHANGES["turn 180°"](film).pixels, film.pixels[::-1, ::-1])
    assert CHANGES["16-bit PNG"](film).bit_depth == 16
    # cropped to the hand: the padded film comes back to about its own field, never larger
    padded = CHANGES["pad 2× dark"](film)
    cropped = CHANGES["cropped to the hand"](padded).pixels.shape
    assert cropped[0] <= 1.1 * height and cropped[1] <= 1.1 * width
    assert cropped[0] >= 0.5 * height and cropped[1] >= 0.5 * width


def test_the_benchmark_summarises_both_paths_under_each_change():
    changes = {name: CHANGES[name] for name in ("mirror", "gamma 0.7")}
    result = measure_consistency(
        RSNA_SAMPLE, load_models(), split="val", limit=2, changes=changes, progress=False
    )
    assert result.films == 2
    for path in ("multistep", "endtoend"):
        assert set(result.changes[path]) == set(changes)
        for summary in result.changes[path].values():
            assert summary.films == 2
            if summary.median_change is not None:
                assert 0 <= summary.median_change <= summary.p90_change
    table = format_consistency(result)
    assert "| mirror |" in table and "| gamma 0.7 |" in table

"""Bad files for the fuzz tests of the reader and the upload endpoint: valid PNG, JPEG and DICOM
seeds with bytes flipped, slices cut out, or tails cut off (hypothesis strategies).

``BONEAGE_FUZZ_SCALE`` multiplies every fuzz test's number of examples: 1 in the suite (a bounded
run), more in ``bench/bench_fuzz.py`` (the long one).
"""

from __future__ import annotations

import io
import os

import numpy as np
from hypothesis import strategies as st
from PIL import Image

from tests.boneage.radiograph_files import dicom_bytes, gradient_image, png_bytes

FUZZ_SCALE = max(1, int(os.environ.get("BONEAGE_FUZZ_SCALE", "1")))


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((gradient_image(160, 128, 255)).astype(np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


SEEDS = {
    "png": png_bytes(gradient_image(160, 128)),
    "jpeg": _jpeg(),
    "dicom": dicom_bytes(gradient_image(160, 128)),
}


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid file with bytes flipped, a slice cut out, or the tail cut off."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        start = draw(st.integers(0, len(data) - 1))
        del data[start : start + draw(st.integers(1, 64))]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)

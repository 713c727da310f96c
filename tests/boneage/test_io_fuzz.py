"""Bad input at volume: the reader meets mutated and truncated PNG, JPEG and DICOM files and random
bytes (hypothesis, a bounded run). Every one either decodes to a radiograph or is refused with
the reader's own typed error in words: never another exception, never a hang."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boneage.errors import InputError
from boneage.io import read_radiograph
from boneage.radiograph import Radiograph
from tests.boneage.fuzz_files import FUZZ_SCALE, SEEDS, mutated


def _read_or_refuse(data: bytes) -> None:
    try:
        radiograph = read_radiograph(data)
    except InputError as error:
        assert str(error).strip(), "a refusal must say why"
    else:
        assert isinstance(radiograph, Radiograph)
        assert np.isfinite(radiograph.pixels).all()


@settings(
    max_examples=150 * FUZZ_SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(mutated())
def test_mutated_files_decode_or_are_refused_in_words(data: bytes) -> None:
    _read_or_refuse(data)


@settings(max_examples=100 * FUZZ_SCALE, deadline=None)
@given(st.binary(max_size=4096), st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"]))
def test_random_bytes_behind_a_known_signature_are_refused_in_words(
    tail: bytes, signature: bytes
) -> None:
    _read_or_refuse(signature + tail)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_the_seeds_themselves_decode(name: str) -> None:
    assert read_radiograph(SEEDS[name]).shape == (160, 128)

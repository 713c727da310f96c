"""The whole-film framing the real-trained CNN and the gate read: bars trimmed, squared."""

from __future__ import annotations

import numpy as np
import pytest

from boneage.framing.field import field_square, trim_bars
from tests.boneage.real_sample import real_film


@pytest.fixture(scope="module")
def film() -> np.ndarray:
    return real_film("1385")


@pytest.mark.parametrize("level", [0.0, 1.0])
def test_black_or_white_padding_bars_are_trimmed(film, level):
    padded = np.pad(film, ((0, 0), (90, 60)), constant_values=level)
    trimmed, (row0, col0, row1, col1) = trim_bars(padded)
    assert 88 <= col0 <= 90 + film.shape[1] // 4
    assert padded.shape[1] - 60 - film.shape[1] // 4 <= col1 <= padded.shape[1] - 58
    assert trimmed.shape == (row1 - row0, col1 - col0)


def test_padding_does_not_change_what_the_network_sees(film):
    plain = field_square(film, size=128)
    padded = field_square(np.pad(film, ((30, 30), (0, 70)), constant_values=1.0), size=128)
    assert padded.notes == ("padding bars at the image edges left out",)
    assert np.abs(plain.image - padded.image).mean() < 0.05


def test_a_portrait_film_is_padded_to_a_square_with_its_border_level(film):
    portrait = np.ascontiguousarray(film[:, 40:-40])
    prepared = field_square(portrait, size=64)
    assert prepared.image.shape == (64, 64)
    assert prepared.image.min() >= 0 and prepared.image.max() <= 1
    row0, col0, row1, col1 = prepared.crop_box
    assert row1 - row0 == col1 - col0 and col0 < 0


def test_a_hand_on_a_flat_background_is_never_trimmed_away():
    image = np.zeros((200, 200), np.float32)
    image[60:140, 90:110] = 0.8
    trimmed, _ = trim_bars(image)
    assert trimmed.shape[0] >= 100 and trimmed.shape[1] >= 100
    assert trimmed.max() == pytest.approx(0.8)

"""Stage timing: recorded inside ``timed_stages``, summed per name, ignored outside it."""

from __future__ import annotations

import time

from boneage.stages import stage, timed_stages


def test_stages_are_recorded_and_summed_only_inside_a_record() -> None:
    with stage("outside"):
        pass
    with timed_stages() as seconds:
        with stage("cnn"):
            time.sleep(0.01)
        with stage("cnn"):
            time.sleep(0.01)
        with timed_stages() as inner, stage("gate"):
            pass
    assert set(seconds) == {"cnn"} and seconds["cnn"] >= 0.02
    assert set(inner) == {"gate"}
    with stage("after"):
        pass
    assert "after" not in seconds


def test_a_stage_that_raises_is_still_timed() -> None:
    with timed_stages() as seconds:
        try:
            with stage("measurement"):
                raise ValueError("no joints")
        except ValueError:
            pass
    assert "measurement" in seconds

"""Calibrating the reference table's intervals on measurements it was not fitted to."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from boneage.multistep.estimator import estimate_age
from boneage.multistep.table import ReferenceTable
from boneage.phantom import anatomy
from boneage.phantom.reference_default import default_reference
from boneage.training.reference.fit import Sample, calibrate_interval_scales, fit_reference
from tests.boneage.reference_hands import hand_at


@pytest.fixture(scope="module")
def table() -> ReferenceTable:
    return default_reference()


def _hands_with_size_error(n: int, rng: np.random.Generator) -> list[Sample]:
    """Hands whose every length is off by one shared factor of SD 25 %, about four times the
    length scatter the default table allows (6.5 % CV), as from a segmentation that draws all
    bones long or short."""
    samples = []
    for _ in range(n):
        age, sex = float(rng.uniform(24.0, 180.0)), str(rng.choice(["F", "M"]))
        size = dict.fromkeys(anatomy.LENGTH_BONES, float(rng.normal(1.0, 0.25)))
        samples.append(Sample(hand_at(age, sex, spacing=True, scale=size), age, sex))
    return samples


def _coverage(table: ReferenceTable, samples: list[Sample], mode: str) -> float:
    inside = []
    for sample in samples:
        low, high = estimate_age(table, sample.measurements, sample.sex, mode).interval_months
        inside.append(low <= sample.age_months <= high)
    return float(np.mean(inside))


def test_interval_scales_restore_coverage_where_measurements_are_noisier_than_the_table(table):
    rng = np.random.default_rng(0)
    calibration, fresh = _hands_with_size_error(150, rng), _hands_with_size_error(150, rng)
    scales = calibrate_interval_scales(table, calibration)
    calibrated = dataclasses.replace(table, interval_scales=scales)
    assert _coverage(table, fresh, "absolute_mm") < 0.8
    assert scales["absolute_mm"] > 1.5
    assert _coverage(calibrated, fresh, "absolute_mm") >= 0.85
    # A size error shared by all bones cancels in the ratios, which need no widening.
    assert scales["ratios"] < 1.0
    assert _coverage(calibrated, fresh, "ratios") >= 0.85


def test_a_feature_seen_in_a_few_hands_spread_over_many_years_is_left_out(table):
    """Eleven boys' hands from 4 to 18 years carry an epiphysis size: enough hands, too thin a
    spread for any age to be fitted from (it crashed the fit before)."""
    rng = np.random.default_rng(1)
    samples = _hands_with_size_error(160, rng)
    sparse_ages = np.linspace(53.0, 212.0, 11)
    for i, age in enumerate(sparse_ages):
        hand = hand_at(float(age), "M", spacing=True)
        epiphysis = dataclasses.replace(
            hand.bones["metacarpal_3"],
            bone="distal_phalanx_5_epiphysis",
            kind="epiphysis",
            relative_size=0.8,
        )
        samples[i] = Sample(
            dataclasses.replace(hand, bones={**hand.bones, epiphysis.bone: epiphysis}),
            float(age),
            "M",
        )
    fitted = fit_reference(samples, name="sparse", version="0", source="test")
    assert "length_mm:metacarpal_3" in fitted.sexes["M"].continuous
    assert "relative_size:distal_phalanx_5_epiphysis" not in fitted.sexes["M"].continuous


def test_a_fit_whose_calibration_half_cannot_read_one_sex_still_fits():
    """Forty-three girls and seven boys, every boy at an odd position: the temperature is
    calibrated on the odd hands through a table of the even ones, which has no boy to fit. The
    boys are left out of that calibration instead of aborting the fit (as they did)."""
    rng = np.random.default_rng(2)
    samples = []
    for index in range(50):
        sex = "M" if index % 8 == 1 else "F"
        age = float(rng.uniform(24.0, 180.0))
        samples.append(Sample(hand_at(age, sex, spacing=False), age, sex))
    table = fit_reference(samples, name="few-boys", version="0", source="test")
    girls = table.sexes["F"]
    assert girls.continuous and girls.binary
    girl = next(s for s in samples if s.sex == "F")
    low, high = estimate_age(table, girl.measurements, "F", "ratios").interval_months
    assert low <= girl.age_months <= high


def _maturing_hands(n: int, rng: np.random.Generator) -> list[Sample]:
    """Landmark measurements of hands whose epiphyses fill their joints as they mature: each
    joint's share follows one age curve plus the hand's own maturity offset (shared by all its
    joints, as in a real child) and the joint's own noise."""
    from boneage.multistep.measure import JOINTS, HandMeasurements, JointMeasurement

    samples = []
    for _ in range(n):
        age, sex = float(rng.uniform(12.0, 216.0)), str(rng.choice(["F", "M"]))
        offset = rng.normal(0.0, 0.08)
        joints = {}
        for joint in JOINTS:
            share = np.clip(age / 216 + offset + rng.normal(0.0, 0.08), 0.0, 1.0)
            joints[joint] = JointMeasurement(joint, 100, int(round(100 * share)), 10.0, 10 * share)
        lengths = {"proximal_phalanx_3": 40.0 * rng.normal(1.0, 0.03)}
        samples.append(Sample(HandMeasurements(lengths, joints, 70.0, ()), age, sex))
    return samples


def _mae(table: ReferenceTable, samples: list[Sample]) -> float:
    errors = [
        abs(estimate_age(table, s.measurements, s.sex, "ratios").age_months - s.age_months)
        for s in samples
    ]
    return float(np.mean(errors))


def test_a_maturity_score_counts_correlated_joints_once(tmp_path):
    rng = np.random.default_rng(3)
    train, calibration, fresh = (_maturing_hands(n, rng) for n in (600, 300, 300))
    independent = fit_reference(train, name="t", version="1", source="synthetic")
    scored = fit_reference(train, name="t", version="1", source="synthetic", maturity_score=True)
    assert all(reference.score is not None for reference in scored.sexes.values())
    assert independent.temperature > 1  # the joints' shared offset counted many times
    assert _mae(scored, fresh) < _mae(independent, fresh)
    scored = dataclasses.replace(
        scored, interval_scales=calibrate_interval_scales(scored, calibration)
    )
    assert 0.85 <= _coverage(scored, fresh, "ratios") <= 0.95
    path = tmp_path / "table.json"
    scored.save(path)
    again = ReferenceTable.load(path)
    hand = fresh[0]
    assert estimate_age(again, hand.measurements, hand.sex, "ratios").age_months == pytest.approx(
        estimate_age(scored, hand.measurements, hand.sex, "ratios").age_months, abs=0.05
    )


def test_too_few_hands_for_a_score_fall_back_to_a_tempered_table():
    rng = np.random.default_rng(4)
    table = fit_reference(
        _maturing_hands(40, rng), name="t", version="1", source="s", maturity_score=True
    )
    assert all(reference.score is None for reference in table.sexes.values())
    assert table.temperature >= 1


def test_carpal_and_tubular_parts_are_scored_and_an_asynchrony_is_said():
    from boneage.multistep.measure import HandMeasurements, JointMeasurement
    from boneage.multistep.run import maturity_parts

    rng = np.random.default_rng(5)
    table = fit_reference(
        _maturing_hands(600, rng), name="t", version="1", source="s", maturity_score=True
    )
    assert set(table.sexes["F"].parts) == {"carpal", "tubular"}
    assert table.sexes["F"].parts["carpal"].keys == (
        "relative_size:carpus",
        "relative_size:carpus_area",
        "present:carpus",
    )
    hand = _maturing_hands(1, np.random.default_rng(6))[0]
    joints = dict(hand.measurements.joints)
    joints["wrist"] = JointMeasurement("wrist", 100, 5, 10.0, 0.5)  # an infant's carpus
    joints = {
        j: m if j == "wrist" else JointMeasurement(j, 100, 95, 10.0, 9.5)  # adult fingers
        for j, m in joints.items()
    }
    measured = HandMeasurements(hand.measurements.lengths_px, joints, 70.0, ())
    estimate = estimate_age(table, measured, "F", "ratios")
    carpal, tubular = estimate.parts["carpal"][0], estimate.parts["tubular"][0]
    assert carpal < tubular - 60
    words = maturity_parts(estimate.parts).asynchrony
    assert words.startswith("The carpal bones read") and "tubular bones are ahead" in words
    calm = estimate_age(table, hand.measurements, hand.sex, "ratios")
    assert maturity_parts(calm.parts).asynchrony is None


def test_a_hand_past_the_table_is_held_at_its_end_and_said_to_be():
    rng = np.random.default_rng(7)
    table = fit_reference(
        _maturing_hands(600, rng), name="t", version="1", source="s", maturity_score=True
    )
    hand = _maturing_hands(1, np.random.default_rng(8))[0]
    inside = estimate_age(table, hand.measurements, hand.sex, "ratios")
    assert inside.beyond_table is None

    def shifted(by: float) -> ReferenceTable:
        """The table with every hand's score moved by ``by`` months."""
        sexes = {
            sex: dataclasses.replace(
                ref, score=dataclasses.replace(ref.score, intercept=ref.score.intercept + by)
            )
            for sex, ref in table.sexes.items()
        }
        return dataclasses.replace(table, sexes=sexes)

    score = table.sexes[hand.sex].score
    young = estimate_age(shifted(-1000), hand.measurements, hand.sex, "ratios")
    assert young.age_months == pytest.approx(score.age_mean[0])
    assert young.interval_months[0] == 0.0  # the child may be younger: down to birth
    assert "less mature than any the reference table resolves" in young.beyond_table
    old = estimate_age(shifted(1000), hand.measurements, hand.sex, "ratios")
    assert old.age_months == pytest.approx(score.age_mean[-1])
    assert old.interval_months[1] == table.ages_months[-1]
    assert "more mature than any" in old.beyond_table

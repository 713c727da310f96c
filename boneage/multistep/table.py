"""The sex-specific reference table: curves of bone measurements against age, and their file.

A table holds, for each sex, on a grid of ages (months):

- continuous features, each a mean and SD curve: ``length_mm:<bone>`` (absolute lengths),
  ``length_ratio:<bone>`` (length over the hand's own scale), ``relative_size:<centre>`` (how
  much of a joint region its ossified epiphysis fills, carpal bones in the carpus);
- binary features, each a probability curve: ``present:<centre>`` (ossification centre visible);
- optionally a maturity score per sex (:class:`MaturityScore`) and per part of the skeleton.

How a hand's measurements are read against it is :mod:`boneage.multistep.estimator`; how a table
is fitted from measured hands is ``boneage fit-reference``. A table is one JSON file
(:meth:`ReferenceTable.save`), versioned by :data:`SCHEMA`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

from boneage.errors import ModelUnavailable

SpacingMode = Literal["absolute_mm", "ratios"]
Beyond = Literal["below", "above"]
"""Which end of the table a score lies past (:meth:`MaturityScore.beyond`)."""
SCHEMA = "boneage-reference/3"
"""Version 2 added ``interval_scales``, version 3 a per-sex maturity ``score``
(:class:`MaturityScore`); older tables still load, without them."""
READABLE_SCHEMAS = ("boneage-reference/1", "boneage-reference/2", SCHEMA)
AGE_GRID_MONTHS = np.arange(0.0, 229.0, 1.0)
"""Ages (months) the curves are tabulated on: birth to 19 years."""
COVERAGE = 0.9
"""Posterior mass inside the reported interval."""
SHARED_FRACTION = {"length_mm": 0.85, "length_ratio": 0.0}
"""Default fraction of the length variance that is shared by all bones of one hand. Assumed, of
the order of the high inter-bone length correlations in the hand; ratios cancel the shared size."""


@dataclass(frozen=True)
class Curve:
    """Mean and SD of a continuous feature on the table's age grid."""

    mean: np.ndarray
    sd: np.ndarray

    def log_likelihood(self, value: float) -> np.ndarray:
        z = (value - self.mean) / self.sd
        return -0.5 * z**2 - np.log(self.sd)


SCORE_CLIP = 4.0


@dataclass(frozen=True)
class MaturityScore:
    """One number, in months, that sums what every measurement says about maturity, as the
    Tanner-Whitehouse method sums its bone scores before a table turns the sum into an age.

    The score is a ridge regression on the standardised features and their squares, fitted on
    the table's training hands of one sex (:mod:`boneage.training.reference.fit`). Measurements
    of one hand are strongly correlated (a mature hand is mature at every joint), and a
    likelihood that multiplies them as if independent counts the same evidence many times over;
    the regression weighs each by what it adds. As in Tanner-Whitehouse, a table then turns
    the score into an age: ``age_mean`` and ``age_sd`` are the mean and SD of the training
    hands' true age against their score, tabulated at the scores of :data:`AGE_GRID_MONTHS`
    (the score is in months), from which the estimate and its interval are read."""

    keys: tuple[str, ...]
    centre: np.ndarray
    spread: np.ndarray
    weights: np.ndarray
    """Coefficients of the standardised features, then of their squares."""
    intercept: float
    age_mean: np.ndarray
    age_sd: np.ndarray

    def value(self, features: dict[str, float]) -> float:
        """The score of a hand whose every key is in ``features``."""
        x = self.standardise(np.array([features[k] for k in self.keys]))
        return float(np.concatenate([x, x**2]) @ self.weights + self.intercept)

    def lookup(self, features: dict[str, float]) -> tuple[float, float, float]:
        """(age, low, high): the mean age at this hand's score and the central
        :data:`COVERAGE` range of a normal with the SD there."""
        return self.read(self.value(features))

    def beyond(self, value: float) -> Beyond | None:
        """Whether a score lies past the scores the table tabulates (those of
        :data:`AGE_GRID_MONTHS`): such a hand is less (more) mature than any the table resolves,
        and :meth:`read` holds it at the table's youngest (oldest) age."""
        if value < AGE_GRID_MONTHS[0]:
            return "below"
        if value > AGE_GRID_MONTHS[-1]:
            return "above"
        return None

    def read(self, value: float) -> tuple[float, float, float]:
        """(age, low, high) at a score (:meth:`lookup`)."""
        mean = float(np.interp(value, AGE_GRID_MONTHS, self.age_mean))
        sd = float(np.interp(value, AGE_GRID_MONTHS, self.age_sd))
        half = NormalDist().inv_cdf(0.5 + COVERAGE / 2) * sd
        return mean, mean - half, mean + half

    def standardise(self, values: np.ndarray) -> np.ndarray:
        """Features as z-scores of the training hands, clipped to ±:data:`SCORE_CLIP`: one wild
        measurement must not dominate a sum with squared terms."""
        return np.clip((values - self.centre) / self.spread, -SCORE_CLIP, SCORE_CLIP)

    def to_json(self) -> dict[str, Any]:
        return {
            "keys": list(self.keys),
            "centre": _rounded(self.centre),
            "spread": _rounded(self.spread),
            "weights": _rounded(self.weights),
            "intercept": self.intercept,
            "age_mean": _rounded(self.age_mean),
            "age_sd": _rounded(self.age_sd),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> MaturityScore:
        return cls(
            keys=tuple(raw["keys"]),
            centre=np.asarray(raw["centre"], float),
            spread=np.asarray(raw["spread"], float),
            weights=np.asarray(raw["weights"], float),
            intercept=float(raw["intercept"]),
            age_mean=np.asarray(raw["age_mean"], float),
            age_sd=np.asarray(raw["age_sd"], float),
        )


MATURITY_PARTS = ("carpal", "tubular")
"""The two parts of the skeleton a reader compares: the carpal bones, and the tubular bones of
the fingers and thumb (their epiphyses and lengths)."""


def part_of(key: str) -> str:
    """Which :data:`MATURITY_PARTS` a feature belongs to."""
    return "carpal" if "carpus" in key or "carpal" in key else "tubular"


@dataclass(frozen=True)
class SexReference:
    continuous: dict[str, Curve]
    binary: dict[str, np.ndarray]
    score: MaturityScore | None = None
    parts: dict[str, MaturityScore] = field(default_factory=dict)
    """A score of each part alone (:data:`MATURITY_PARTS`), to tell whether they disagree."""


@dataclass(frozen=True)
class ReferenceTable:
    """A versioned table; ``provenance`` names the source data, its size, date and code version."""

    name: str
    version: str
    ages_months: np.ndarray
    sexes: dict[str, SexReference]
    shared_fraction: dict[str, float] = field(default_factory=lambda: dict(SHARED_FRACTION))
    temperature: float = 1.0
    interval_scales: dict[str, float] = field(default_factory=dict)
    """Per spacing mode, the multiplier of the interval's half-widths; 1.0 for a mode not here."""
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def parameter_count(self) -> int:
        """Numbers fitted per sex: a mean and an SD curve per continuous feature, a probability
        curve per binary one (what a model card lists as the table's parameters)."""
        return sum(
            len(r.continuous) * 2
            + len(r.binary)
            + (0 if r.score is None else len(r.score.weights) + 1 + 2 * len(r.score.age_mean))
            for r in self.sexes.values()
        )

    @property
    def ident(self) -> str:
        return f"{self.name}@{self.version}"

    def modes(self) -> tuple[SpacingMode, ...]:
        """Spacing modes this table can answer (absolute needs ``length_mm`` curves)."""
        features = self.sexes["F"].continuous
        has_mm = any(key.startswith("length_mm:") for key in features)
        return ("absolute_mm", "ratios") if has_mm else ("ratios",)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "name": self.name,
            "version": self.version,
            "provenance": self.provenance,
            "shared_fraction": self.shared_fraction,
            "temperature": self.temperature,
            "interval_scales": self.interval_scales,
            "ages_months": self.ages_months.tolist(),
            "sexes": {
                sex: {
                    "continuous": {
                        key: {"mean": _rounded(c.mean), "sd": _rounded(c.sd)}
                        for key, c in ref.continuous.items()
                    },
                    "binary": {key: _rounded(p) for key, p in ref.binary.items()},
                }
                | ({} if ref.score is None else {"score": ref.score.to_json()})
                | (
                    {"parts": {name: part.to_json() for name, part in ref.parts.items()}}
                    if ref.parts
                    else {}
                )
                for sex, ref in self.sexes.items()
            },
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ReferenceTable:
        if raw.get("schema") not in READABLE_SCHEMAS:
            raise ModelUnavailable(f"reference table schema {raw.get('schema')!r} is not {SCHEMA}")
        sexes = {
            sex: SexReference(
                continuous={
                    key: Curve(np.asarray(c["mean"]), np.asarray(c["sd"]))
                    for key, c in ref["continuous"].items()
                },
                binary={key: np.asarray(p) for key, p in ref["binary"].items()},
                score=MaturityScore.from_json(ref["score"]) if "score" in ref else None,
                parts={
                    name: MaturityScore.from_json(part)
                    for name, part in ref.get("parts", {}).items()
                },
            )
            for sex, ref in raw["sexes"].items()
        }
        return cls(
            name=raw["name"],
            version=raw["version"],
            ages_months=np.asarray(raw["ages_months"], dtype=float),
            sexes=sexes,
            shared_fraction=dict(raw["shared_fraction"]),
            temperature=float(raw["temperature"]),
            interval_scales={k: float(v) for k, v in raw.get("interval_scales", {}).items()},
            provenance=dict(raw["provenance"]),
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> ReferenceTable:
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except (OSError, ValueError, KeyError) as error:
            raise ModelUnavailable(f"The reference table {path} cannot be read: {error}") from error


def _rounded(values: np.ndarray) -> list[float]:
    return [float(f"{v:.6g}") for v in np.asarray(values, dtype=float)]

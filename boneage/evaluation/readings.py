"""How often the reading against chronological age names a band, and how often it is wrong.

A reading that is never wrong because it never names a band tells the clinician nothing; one that
names a band on every film is wrong whenever the estimate is. This benchmark gives each labelled
film a chronological age at its true bone age plus each offset (0, ±12, ±24, ±36 months), reads
the estimate the report leads with against it (:func:`boneage.report.chronological.compare`, as
``assess`` does), and counts, per offset, how often a band was named and how often the named band
differs from the band of the true bone age. Each film is assessed once: the estimate does not
depend on the chronological age, only its reading does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from boneage.assess import Assessment
from boneage.contract import Estimate
from boneage.evaluation.labelled_folder import chosen_records, run_cases
from boneage.registry import ModelBundle
from boneage.report.chronological import compare

OFFSETS_MONTHS = (-36.0, -24.0, -12.0, 0.0, 12.0, 24.0, 36.0)
"""Chronological age minus true bone age: a child whose bones are 36 months behind is -36."""


@dataclass(frozen=True)
class OffsetSummary:
    """The readings of one offset."""

    offset_months: float
    cases: int
    named: int
    wrong: int
    """Named bands that differ from the true bone age's band."""
    by_truth: dict[str, int]
    """How many cases' true bone age lies in each band."""


@dataclass(frozen=True)
class ReadingsBenchmark:
    dataset: str
    films: int
    without_estimate: int
    source: dict[str, int]
    """How many films were read from each estimate (combined, else the lower-error path)."""
    offsets: list[OffsetSummary]

    def named_fraction(self, offsets: tuple[float, ...]) -> float:
        chosen = [o for o in self.offsets if o.offset_months in offsets]
        return sum(o.named for o in chosen) / max(1, sum(o.cases for o in chosen))

    def wrong_fraction(self) -> float:
        return sum(o.wrong for o in self.offsets) / max(1, sum(o.cases for o in self.offsets))

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "named_at_36": round(self.named_fraction((-36.0, 36.0)), 4),
            "wrong_of_all": round(self.wrong_fraction(), 4),
        }


def _lead(outcome: Assessment) -> tuple[str, Estimate] | None:
    """The estimate the report reads against chronological age, and its name."""
    record = outcome.record
    if record.chronological is None or record.chronological.based_on is None:
        return None
    source = record.chronological.based_on
    estimate = record.estimate_of(source)
    return None if estimate is None else (source, estimate)


def measure_readings(
    directory: Path,
    models: ModelBundle,
    *,
    split: str | None = "val",
    limit: int | None = 200,
    ages: tuple[float, float] | None = None,
    offsets: tuple[float, ...] = OFFSETS_MONTHS,
    progress: bool = True,
) -> ReadingsBenchmark:
    """Assess each chosen film once (with its true bone age as the chronological age, so that
    ``assess`` picks the estimate it reads), then read that estimate at every offset."""
    records = [r for r in chosen_records(directory, split, limit, ages) if r.age_months is not None]
    counts = {o: {"cases": 0, "named": 0, "wrong": 0} for o in offsets}
    truths: dict[float, dict[str, int]] = {o: {} for o in offsets}
    source: dict[str, int] = {}
    missing = 0
    cases = run_cases(records, models, chronological=lambda record: record.age_months)
    for record, outcome in tqdm(cases, total=len(records), desc="readings", disable=not progress):
        lead = _lead(outcome) if isinstance(outcome, Assessment) else None
        if lead is None or not lead[1].answered:
            missing += 1
            continue
        name, estimate = lead
        source[name] = source.get(name, 0) + 1
        sex = outcome.record.input.sex
        truth = float(record.age_months)
        for offset in offsets:
            age = truth + offset
            if age < 0:
                continue
            reading = compare(estimate.age_months, age, sex, estimate.interval_months)
            true_band = compare(truth, age, sex).category
            counts[offset]["cases"] += 1
            truths[offset][true_band] = truths[offset].get(true_band, 0) + 1
            if reading.category != "not determined":
                counts[offset]["named"] += 1
                counts[offset]["wrong"] += int(reading.category != true_band)
    return ReadingsBenchmark(
        dataset=Path(directory).resolve().name,
        films=len(records),
        without_estimate=missing,
        source=source,
        offsets=[OffsetSummary(o, **counts[o], by_truth=truths[o]) for o in offsets],
    )


def format_readings(result: ReadingsBenchmark) -> str:
    lines = [
        f"{result.films} films of {result.dataset} ({result.without_estimate} without an "
        f"estimate); read from: {result.source}",
        "offset (CA - true BA) | cases | named | wrong | true bands",
    ]
    for o in result.offsets:
        lines.append(
            f"{o.offset_months:+5.0f} months | {o.cases} | {o.named / max(1, o.cases):.1%} | "
            f"{o.wrong / max(1, o.cases):.1%} | {o.by_truth}"
        )
    lines.append(
        f"named in {result.named_fraction((-36.0, 36.0)):.1%} of the ±36-month cases "
        f"(target ≥ 60 %); wrong in {result.wrong_fraction():.2%} of all (target < 2 %)"
    )
    return "\n".join(lines)

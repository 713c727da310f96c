"""Run the full :func:`boneage.assess.assess` over a labelled RSNA-layout folder and summarise it.

Every real-data figure this project quotes comes from here, on the ``val`` split: each image goes
through exactly what a clinician's upload goes through (reading, quality gate, both paths,
agreement), and the summary counts what the product would show. A rejection is counted as a
rejection, by its reason, never as an error of zero or silently dropped.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from boneage.assess import Assessment, assess
from boneage.contract import Estimate
from boneage.errors import BoneAgeError
from boneage.io import read_radiograph
from boneage.modelcard import HeldOut, ModelCard
from boneage.registry import COMBINATION_FOLDER, FOLDERS, ModelBundle
from boneage.report.age_bands import band_errors, metric_key
from boneage.training.common.datasets.records import Record
from boneage.training.common.datasets.rsna import RsnaDataset

PATHS = ("multistep", "endtoend")
COMBINED = "combined"
"""The pooled estimate, summarised beside the two paths when the model folder has its rule."""


@dataclass(frozen=True)
class CaseResult:
    """One image's outcome on one path: an estimate with its interval, or a rejection."""

    id: str
    sex: str
    truth_months: float
    age_months: float | None = None
    interval_months: tuple[float, float] | None = None
    rejected: str | None = None


@dataclass(frozen=True)
class PathSummary:
    """What one path did on the evaluated images."""

    images: int
    answered: int
    rejections: dict[str, int]
    mae_months: float | None
    rmse_months: float | None
    bias_months: float | None
    mae_by_age_band: dict[str, float]
    mae_by_sex: dict[str, float]
    coverage_90: float | None
    median_interval_width_months: float | None


@dataclass(frozen=True)
class Evaluation:
    """The summary of one ``boneage evaluate`` run; ``dataset`` is the folder's name (a path on
    the evaluating machine means nothing to a reader of the summary)."""

    dataset: str
    split: str | None
    images: int
    paths: dict[str, PathSummary]
    both_answered: int
    agree: int
    seconds_per_image: float
    models: dict[str, str]
    failures: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def reason_kind(reason: str) -> str:
    """A rejection reason with its numbers taken out, so reasons of one kind count together."""
    return re.sub(r"[-+]?\d+(\.\d+)?", "N", reason)


def summarise_path(cases: list[CaseResult]) -> PathSummary:
    """MAE, RMSE, bias, per band and sex, coverage and width over the answered cases."""
    answered = [c for c in cases if c.age_months is not None]
    rejections = Counter(reason_kind(c.rejected) for c in cases if c.rejected is not None)
    if not answered:
        return PathSummary(len(cases), 0, dict(rejections), None, None, None, {}, {}, None, None)
    truth = np.array([c.truth_months for c in answered])
    estimate = np.array([c.age_months for c in answered])
    low = np.array([c.interval_months[0] for c in answered])
    high = np.array([c.interval_months[1] for c in answered])
    error = estimate - truth
    by_band = {band: round(mae, 2) for band, mae in band_errors(truth, estimate).items()}
    sexes = np.array([c.sex for c in answered])
    by_sex = {
        sex: round(float(np.abs(error[sexes == sex]).mean()), 2)
        for sex in ("F", "M")
        if (sexes == sex).any()
    }
    return PathSummary(
        images=len(cases),
        answered=len(answered),
        rejections=dict(rejections.most_common()),
        mae_months=round(float(np.abs(error).mean()), 2),
        rmse_months=round(float(np.sqrt((error**2).mean())), 2),
        bias_months=round(float(error.mean()), 2),
        mae_by_age_band=by_band,
        mae_by_sex=by_sex,
        coverage_90=round(float(((truth >= low) & (truth <= high)).mean()), 3),
        median_interval_width_months=round(float(np.median(high - low)), 1),
    )


def chosen_records(
    directory: Path,
    split: str | None,
    limit: int | None,
    ages: tuple[float, float] | None = None,
) -> list[Record]:
    """The records to evaluate: the split's (with ``ages``, those whose label lies in that band
    of months, lower bound included), and with ``limit`` a seeded random subset of them (the same
    subset on every run, so two models are compared on the same images)."""
    records = list(RsnaDataset(directory, split=split).records)
    if ages is not None:
        records = [r for r in records if ages[0] <= r.age_months < ages[1]]
    if limit is not None and limit < len(records):
        order = np.random.default_rng(0).permutation(len(records))[:limit]
        records = [records[i] for i in sorted(order)]
    return records


def _outcome(record: Record, estimate: Estimate) -> CaseResult:
    common = {"id": record.id, "sex": record.sex or "", "truth_months": float(record.age_months)}
    if estimate.answered:
        return CaseResult(
            **common, age_months=estimate.age_months, interval_months=estimate.interval_months
        )
    return CaseResult(**common, rejected=estimate.rejected or "no estimate")


def run_cases(
    records: Iterable[Record],
    models: ModelBundle,
    chronological: Callable[[Record], float | None] | None = None,
) -> Iterator[tuple[Record, Assessment | BoneAgeError]]:
    """Assess each record as an upload is assessed (with ``chronological(record)`` as the
    chronological age, when given); an unreadable file yields its error."""
    for record in records:
        try:
            radiograph = read_radiograph(record.image_path)
            age = chronological(record) if chronological else None
            yield (
                record,
                assess(radiograph, models=models, sex=record.sex, chronological_age_months=age),
            )
        except BoneAgeError as error:
            yield record, error


def evaluate_folder(
    directory: Path,
    models: ModelBundle,
    *,
    split: str | None = "val",
    limit: int | None = None,
    ages: tuple[float, float] | None = None,
    progress: bool = True,
    keep: Callable[[Record, Assessment], None] | None = None,
) -> Evaluation:
    """Assess every chosen image of ``directory`` (:func:`chosen_records`) and summarise both
    paths; ``keep`` is shown every assessment (the contact sheet keeps a few overlays)."""
    records = chosen_records(directory, split, limit, ages)
    by_path: dict[str, list[CaseResult]] = {path: [] for path in PATHS}
    if models.combination is not None:
        by_path[COMBINED] = []
    failures: Counter[str] = Counter()
    both = agree = 0
    started = time.perf_counter()
    results = run_cases(records, models)
    if progress:
        results = tqdm(results, total=len(records), desc="evaluate", unit="image")
    for record, result in results:
        if isinstance(result, BoneAgeError):
            failures[reason_kind(str(result))] += 1
            for cases in by_path.values():
                cases.append(_outcome(record, Estimate(rejected=str(result))))
            continue
        if keep is not None:
            keep(record, result)
        for path, estimate in result.record.estimates().items():
            by_path[path].append(_outcome(record, estimate))
        if result.record.combined is not None:
            by_path[COMBINED].append(_outcome(record, result.record.combined))
        if result.record.agreement.agree is not None:
            both += 1
            agree += result.record.agreement.agree
    seconds = (time.perf_counter() - started) / max(1, len(records))
    return Evaluation(
        dataset=Path(directory).resolve().name,
        split=split,
        images=len(records),
        paths={path: summarise_path(cases) for path, cases in by_path.items()},
        both_answered=both,
        agree=agree,
        seconds_per_image=round(seconds, 3),
        models={role: card.ident for role, card in models.cards.by_role().items()},
        failures=dict(failures),
    )


def format_evaluation(evaluation: Evaluation) -> str:
    """The summary as the lines ``boneage evaluate`` prints."""
    lines = [
        f"{evaluation.images} images of {evaluation.dataset}"
        + (f" (split {evaluation.split})" if evaluation.split else "")
        + f", {evaluation.seconds_per_image:.2f} s per image; models "
        + ", ".join(evaluation.models.values())
    ]
    titles = {"multistep": "Multi-step", "endtoend": "End-to-end", COMBINED: "Combined"}
    for path, summary in evaluation.paths.items():
        lines.append(
            f"{titles[path]}: answered {summary.answered} of {summary.images} "
            f"({summary.answered / max(1, summary.images):.1%})"
        )
        if summary.mae_months is not None:
            lines.append(
                f"  MAE {summary.mae_months:.1f} months, RMSE {summary.rmse_months:.1f}, "
                f"bias {summary.bias_months:+.1f}; 90 % interval coverage "
                f"{summary.coverage_90:.1%}, median width "
                f"{summary.median_interval_width_months:.0f}"
            )
            bands = ", ".join(f"{k} {v:.1f}" for k, v in summary.mae_by_age_band.items())
            lines.append(f"  MAE by age band: {bands}")
            sexes = ", ".join(f"{k} {v:.1f}" for k, v in summary.mae_by_sex.items())
            lines.append(f"  MAE by sex: {sexes}")
        for reason, count in summary.rejections.items():
            lines.append(f"  rejected {count}: {reason}")
    if evaluation.both_answered:
        lines.append(
            f"Both paths answered {evaluation.both_answered}; they agreed (difference within "
            f"their combined uncertainty) in "
            f"{evaluation.agree} ({evaluation.agree / evaluation.both_answered:.0%})"
        )
    for reason, count in evaluation.failures.items():
        lines.append(f"Unreadable {count}: {reason}")
    return "\n".join(lines)


def held_out_of(evaluation: Evaluation, path: str) -> HeldOut:
    """One path's figures of an evaluation as a card's held-out record: what the report's note
    quotes, so the note's numbers are those of ``boneage evaluate``."""
    summary = evaluation.paths[path]
    kind = f"{evaluation.dataset}/{evaluation.split or 'all'}"
    return HeldOut(
        kind="rsna-2017-val" if evaluation.split == "val" else kind,
        size=summary.answered,
        mae_months=summary.mae_months,
        coverage_90=summary.coverage_90,
        metrics={
            "images": float(summary.images),
            "rejected": float(summary.images - summary.answered),
            "rmse_months": summary.rmse_months or float("nan"),
            "bias_months": summary.bias_months or 0.0,
            "median_interval_width_months": summary.median_interval_width_months or float("nan"),
            **{metric_key(band): mae for band, mae in summary.mae_by_age_band.items()},
        },
    )


CARD_OF_PATH = {
    "multistep": FOLDERS["reference"],
    "endtoend": FOLDERS["regression"],
    COMBINED: COMBINATION_FOLDER,
}
"""The folder of the card that carries each path's measured error (the one its note quotes)."""


def attach_to_cards(evaluation: Evaluation, models: Path) -> list[ModelCard]:
    """Rewrite, in the model folder ``models``, the card of each path that answered with the
    evaluation's figures for that path (the model files, and so the cards' SHA-256 of them, are
    untouched)."""
    updated = []
    for path, folder in CARD_OF_PATH.items():
        if path not in evaluation.paths or evaluation.paths[path].mae_months is None:
            continue
        card_path = models / folder / "card.json"
        card = replace(ModelCard.load(card_path), held_out=held_out_of(evaluation, path))
        card.save(card_path)
        updated.append(card)
    return updated

"""Does the answer move with the framing? Each film assessed as it is and after one harmless
change, and how far each path's estimate moves.

A radiologist reads the same hand the same way whether it was padded, turned, mirrored,
resampled or exposed differently; BoneXpert states 0.19 years (2.3 months) SD between repeated
readings. :func:`measure_consistency` runs the full :func:`boneage.assess.assess` on every film
of a labelled folder and on each of :data:`CHANGES`, and reports per path and change the median
and 90th percentile of the absolute change of the estimate, and the MAE against the truth under
that change. A change that one of the two readings rejects is counted apart (``lost``), not as a
change of zero.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage
from tqdm import tqdm

from boneage.assess import assess
from boneage.errors import BoneAgeError
from boneage.evaluation.labelled_folder import PATHS, chosen_records
from boneage.io import read_radiograph
from boneage.radiograph import Radiograph
from boneage.registry import ModelBundle

Change = Callable[[Radiograph], Radiograph]


def _border(pixels: np.ndarray) -> float:
    return float(np.median(np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])))


def _with(film: Radiograph, pixels: np.ndarray, **changes: Any) -> Radiograph:
    return replace(film, pixels=np.clip(pixels, 0, 1).astype(np.float32), **changes)


def _pad(factor: float, level: float) -> Change:
    def change(film: Radiograph) -> Radiograph:
        height, width = film.pixels.shape
        out = np.full((round(height * factor), round(width * factor)), level, np.float32)
        top, left = (out.shape[0] - height) // 2, (out.shape[1] - width) // 2
        out[top : top + height, left : left + width] = film.pixels
        return _with(film, out)

    return change


def _turn(degrees: float) -> Change:
    def change(film: Radiograph) -> Radiograph:
        turns = round(degrees / 90)
        if abs(degrees - 90 * turns) < 1e-9:
            return _with(film, np.rot90(film.pixels, turns))
        turned = ndimage.rotate(
            film.pixels, degrees, reshape=True, order=1, mode="constant", cval=_border(film.pixels)
        )
        return _with(film, turned)

    return change


def _resample(factor: float) -> Change:
    def change(film: Radiograph) -> Radiograph:
        height, width = film.pixels.shape
        image = Image.fromarray(film.pixels.astype(np.float32), mode="F")
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        return _with(film, np.asarray(image.resize(size, Image.Resampling.BILINEAR)))

    return change


def _gamma(gamma: float) -> Change:
    return lambda film: _with(film, film.pixels**gamma)


def _stretch(film: Radiograph) -> Radiograph:
    low, high = np.percentile(film.pixels, [5, 95])
    return _with(film, (film.pixels - low) / max(high - low, 1e-6))


def _noise(film: Radiograph) -> Radiograph:
    rng = np.random.default_rng(0)
    return _with(film, film.pixels + rng.normal(0, 0.03, film.pixels.shape))


def _encoded(fmt: str, **options: Any) -> Change:
    """Through a file of ``fmt`` and back through the upload's reader."""

    def change(film: Radiograph) -> Radiograph:
        if fmt == "PNG16":
            image = Image.fromarray(np.round(film.pixels * 65535).astype(np.uint16))
            fmt_name = "PNG"
        else:
            image = Image.fromarray(np.round(film.pixels * 255).astype(np.uint8))
            fmt_name = fmt
        buffer = io.BytesIO()
        image.save(buffer, format=fmt_name, **options)
        decoded = read_radiograph(buffer.getvalue())
        return _with(film, decoded.pixels, bit_depth=decoded.bit_depth)

    return change


def _fill(film: Radiograph) -> Radiograph:
    """Cropped to the hand's bright extent with a 2 % margin, so that the hand fills the frame as
    on atlas plates (the framing on which small children were read years too old): the rows and
    columns where more than 2 % of the pixels lie above a quarter of the way from the border's
    level to the 99th percentile."""
    pixels = film.pixels
    border = _border(pixels)
    bright = pixels > border + 0.25 * (np.percentile(pixels, 99) - border)
    rows = np.flatnonzero(bright.mean(axis=1) > 0.02)
    cols = np.flatnonzero(bright.mean(axis=0) > 0.02)
    if len(rows) < 2 or len(cols) < 2:
        return film
    height, width = pixels.shape
    margin_r, margin_c = round(0.02 * height), round(0.02 * width)
    top, bottom = max(0, rows[0] - margin_r), min(height, rows[-1] + 1 + margin_r)
    left, right = max(0, cols[0] - margin_c), min(width, cols[-1] + 1 + margin_c)
    return _with(film, pixels[top:bottom, left:right])


def _letter(film: Radiograph) -> Radiograph:
    """A burnt-in marker: a bright R in the top right corner, a tenth of the film high."""
    height, width = film.pixels.shape
    image = Image.fromarray(np.round(film.pixels * 255).astype(np.uint8))
    size = max(8, height // 10)
    font = ImageFont.load_default(size=size)
    ImageDraw.Draw(image).text((width - 1.5 * size, size // 3), "R", fill=255, font=font)
    return _with(film, np.asarray(image, np.float32) / 255)


CHANGES: dict[str, Change] = {
    "pad 1.5× dark": _pad(1.5, 0.0),
    "pad 2× dark": _pad(2.0, 0.0),
    "pad 1.5× bright": _pad(1.5, 1.0),
    "pad 2× bright": _pad(2.0, 1.0),
    "turn +10°": _turn(10),
    "turn −10°": _turn(-10),
    "turn +20°": _turn(20),
    "turn −20°": _turn(-20),
    "turn +30°": _turn(30),
    "turn −30°": _turn(-30),
    "turn 90°": _turn(90),
    "turn 180°": _turn(180),
    "mirror": lambda film: _with(film, film.pixels[:, ::-1]),
    "cropped to the hand": _fill,
    "resample 0.5×": _resample(0.5),
    "resample 2×": _resample(2.0),
    "gamma 0.7": _gamma(0.7),
    "gamma 1.4": _gamma(1.4),
    "contrast stretch": _stretch,
    "noise σ 0.03": _noise,
    "JPEG quality 60": _encoded("JPEG", quality=60),
    "16-bit PNG": _encoded("PNG16"),
    "burnt-in letter": _letter,
}
"""The harmless changes, each a function of the decoded film."""


@dataclass(frozen=True)
class ChangeSummary:
    """How far one path's estimate moved under one change, in months."""

    films: int
    lost: int
    """Films one of the two readings (as it is, changed) did not answer."""
    median_change: float | None
    p90_change: float | None
    mae: float | None


@dataclass(frozen=True)
class Consistency:
    """Per path, per change, and each path's MAE on the films as they are."""

    dataset: str
    films: int
    baseline_mae: dict[str, float | None]
    changes: dict[str, dict[str, ChangeSummary]]
    models: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _estimates(film: Radiograph, models: ModelBundle, sex: str) -> dict[str, float | None]:
    try:
        record = assess(film, models=models, sex=sex).record
    except BoneAgeError:
        return dict.fromkeys(PATHS)
    return {path: estimate.age_months for path, estimate in record.estimates().items()}


def _summary(pairs: list[tuple[float | None, float | None, float]]) -> ChangeSummary:
    kept = [(a, b, truth) for a, b, truth in pairs if a is not None and b is not None]
    if not kept:
        return ChangeSummary(len(pairs), len(pairs), None, None, None)
    moved = np.array([abs(b - a) for a, b, _ in kept])
    errors = np.array([abs(b - truth) for _, b, truth in kept])
    return ChangeSummary(
        films=len(pairs),
        lost=len(pairs) - len(kept),
        median_change=round(float(np.median(moved)), 2),
        p90_change=round(float(np.percentile(moved, 90)), 2),
        mae=round(float(errors.mean()), 2),
    )


def measure_consistency(
    directory: Path,
    models: ModelBundle,
    *,
    split: str | None = "val",
    limit: int | None = 300,
    ages: tuple[float, float] | None = None,
    changes: dict[str, Change] = CHANGES,
    progress: bool = True,
) -> Consistency:
    """Assess each chosen film (a fixed seeded subset of ``limit``, with ``ages`` of those in
    that band of months) as it is and under each change; summarise per path and change."""
    records = chosen_records(directory, split, limit, ages)
    pairs: dict[str, dict[str, list[tuple[float | None, float | None, float]]]] = {
        path: {name: [] for name in changes} for path in PATHS
    }
    baseline: dict[str, list[float]] = {path: [] for path in PATHS}
    for record in tqdm(records, desc="consistency", unit="film", disable=not progress):
        try:
            film = read_radiograph(record.image_path)
        except BoneAgeError:
            continue
        sex = record.sex or "F"
        original = _estimates(film, models, sex)
        for path in PATHS:
            if original[path] is not None:
                baseline[path].append(abs(original[path] - record.age_months))
        for name, change in changes.items():
            changed = _estimates(change(film), models, sex)
            for path in PATHS:
                pairs[path][name].append((original[path], changed[path], record.age_months))
    return Consistency(
        dataset=Path(directory).resolve().name,
        films=len(records),
        baseline_mae={
            path: round(float(np.mean(errors)), 2) if errors else None
            for path, errors in baseline.items()
        },
        changes={
            path: {name: _summary(values) for name, values in by_change.items()}
            for path, by_change in pairs.items()
        },
        models={role: card.ident for role, card in models.cards.by_role().items()},
    )


def format_consistency(result: Consistency) -> str:
    """A Markdown table: per change, each path's median / 90th percentile change and MAE."""
    lines = [
        f"{result.films} films of {result.dataset}; MAE as they are: "
        + ", ".join(f"{path} {mae} months" for path, mae in result.baseline_mae.items()),
        "",
        "| change | end-to-end: median / p90 change | MAE "
        "| multi-step: median / p90 change | MAE |",
        "| --- | --- | --- | --- | --- |",
    ]

    def cell(summary: ChangeSummary) -> tuple[str, str]:
        if summary.median_change is None:
            return "—", "—"
        lost = f" ({summary.lost} lost)" if summary.lost else ""
        return f"{summary.median_change:.1f} / {summary.p90_change:.1f}{lost}", f"{summary.mae:.1f}"

    for name in result.changes["endtoend"]:
        e2e, multi = cell(result.changes["endtoend"][name]), cell(result.changes["multistep"][name])
        lines.append(f"| {name} | {e2e[0]} | {e2e[1]} | {multi[0]} | {multi[1]} |")
    return "\n".join(lines)

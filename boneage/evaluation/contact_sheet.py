"""A contact sheet of multi-step overlays: twelve films across the ages, both sexes, in one PNG.

What a radiologist looks at to judge whether the multi-step path found the bones: each tile is
the overlay the report shows, captioned with the film's id, sex, reference bone age and both
estimates (or the rejection). The films are picked before the run, so a long evaluation keeps
only their overlays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from boneage.assess import Assessment
from boneage.training.common.datasets.records import Record

TILE = 384
CAPTION = 34
COLUMNS = 4


@dataclass
class ContactSheet:
    """The chosen record ids and, as the evaluation reaches them, their captioned overlays."""

    ids: tuple[str, ...]
    tiles: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def spanning(cls, records: Sequence[Record], count: int = 12) -> ContactSheet:
        """``count`` records at evenly spaced quantiles of bone age, alternating girls and
        boys (the nearest record of that sex to each quantile)."""
        ordered = sorted(records, key=lambda r: (r.age_months or 0.0, r.id))
        chosen: list[str] = []
        for i in range(count):
            target = ordered[round(i * (len(ordered) - 1) / max(1, count - 1))].age_months or 0.0
            sex = "F" if i % 2 == 0 else "M"
            candidates = [r for r in ordered if r.sex == sex and r.id not in chosen] or [
                r for r in ordered if r.id not in chosen
            ]
            if not candidates:
                break
            best = min(candidates, key=lambda r: abs((r.age_months or 0.0) - target))
            chosen.append(best.id)
        return cls(tuple(chosen))

    def keep(self, record: Record, assessment: Assessment) -> None:
        """Keep the overlay of a chosen record, with its caption."""
        if record.id not in self.ids or assessment.overlay is None:
            return
        tile = Image.fromarray(assessment.overlay).resize((TILE, TILE), Image.Resampling.LANCZOS)
        canvas = Image.new("RGB", (TILE, TILE + CAPTION), (0, 0, 0))
        canvas.paste(tile, (0, CAPTION))
        draw = ImageDraw.Draw(canvas)
        draw.text(
            (4, 2), f"#{record.id} {record.sex}, bone age {record.age_months:.0f} mo", fill="white"
        )
        draw.text((4, 17), _estimates(assessment), fill=(255, 220, 120))
        self.tiles[record.id] = np.asarray(canvas)

    def save(self, path: Path) -> None:
        """The kept tiles in the chosen order, :data:`COLUMNS` to a row."""
        tiles = [self.tiles[i] for i in self.ids if i in self.tiles]
        if not tiles:
            raise ValueError("no overlay was kept: none of the chosen films was assessed")
        rows = -(-len(tiles) // COLUMNS)
        sheet = np.zeros((rows * (TILE + CAPTION), COLUMNS * TILE, 3), np.uint8)
        for index, tile in enumerate(tiles):
            row, column = divmod(index, COLUMNS)
            sheet[
                row * (TILE + CAPTION) : (row + 1) * (TILE + CAPTION),
                column * TILE : (column + 1) * TILE,
            ] = tile
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(sheet).save(path, optimize=True)


def _estimates(assessment: Assessment) -> str:
    parts = []
    record = assessment.record
    for name, estimate in (("multi-step", record.multistep), ("CNN", record.endtoend)):
        if estimate.age_months is not None:
            parts.append(f"{name} {estimate.age_months:.0f}")
        else:
            parts.append(f"{name} rejected")
    return ", ".join(parts)

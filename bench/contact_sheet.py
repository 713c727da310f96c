"""Draw the phantom contact sheet: phantoms at 1, 3, ..., 17 years for both sexes beside the real
radiographs (a folder of 0.png...), to judge the phantom's realism by eye.

Usage: .venv/bin/python bench/contact_sheet.py [--out docs/phantom_contact_sheet.png]
       --real DIR [--labels]
--labels tints the label mask over each phantom.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from boneage.phantom import generate_phantom
from boneage.phantom.anatomy import NUM_CLASSES

TILE = 256
AGES_YEARS = tuple(range(1, 18, 2))


def _tile(image: np.ndarray, caption: str) -> Image.Image:
    tile = Image.fromarray(image).convert("RGB")
    tile.thumbnail((TILE, TILE))
    canvas = Image.new("RGB", (TILE, TILE + 16), (30, 30, 30))
    canvas.paste(tile, ((TILE - tile.width) // 2, 16 + (TILE - tile.height) // 2))
    ImageDraw.Draw(canvas).text((4, 2), caption, fill=(255, 230, 120))
    return canvas


def _overlay(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    palette = np.random.default_rng(0).integers(60, 255, (NUM_CLASSES, 3)).astype(np.float32)
    gray = np.repeat(image[..., None] * 255.0, 3, axis=2)
    tinted = np.where(labels[..., None] > 0, 0.5 * gray + 0.5 * palette[labels], gray)
    return tinted.astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/phantom_contact_sheet.png"))
    parser.add_argument("--real", type=Path, required=True, help="folder of real radiographs")
    parser.add_argument("--labels", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    tiles = []
    for sex in ("F", "M"):
        for years in AGES_YEARS:
            phantom = generate_phantom(
                args.seed * 1000 + years + 100 * (sex == "M"), age_months=12.0 * years, sex=sex
            )
            pixels = (phantom.image * 255.0).astype(np.uint8)
            if args.labels:
                pixels = _overlay(phantom.image, phantom.labels)
            tiles.append(_tile(pixels, f"phantom {sex} {years} y {phantom.laterality}"))
    for path in sorted(args.real.glob("*.png")):
        tiles.append(_tile(np.asarray(Image.open(path).convert("L")), f"real {path.name}"))

    columns = len(AGES_YEARS)
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (columns * TILE, rows * (TILE + 16)), (0, 0, 0))
    for index, tile in enumerate(tiles):
        sheet.paste(tile, ((index % columns) * TILE, (index // columns) * (TILE + 16)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out} ({len(tiles)} tiles)")


if __name__ == "__main__":
    main()

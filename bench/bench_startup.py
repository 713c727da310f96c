"""Start-up of the command line on this CPU: ``boneage --help`` and ``boneage info FILE``.

Each is run as a fresh process, as a user types it, five times; the median wall time is printed
against its target (1 s for ``--help``, 3 s for ``info``: both must not load torch, MONAI or the
models), with the ratio, so a regression in what the CLI imports shows as a figure. ``info`` reads
a 512 px 16-bit phantom PNG. The last line is the larger of the two ratios.
"""

from __future__ import annotations

import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

RUNS = 5
TARGETS_S = {"--help": 1.0, "info": 3.0}


def _boneage() -> list[str]:
    script = Path(sys.executable).with_name("boneage")
    return [str(script)] if script.exists() else [shutil.which("boneage") or "boneage"]


def _median_seconds(command: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _phantom_png(folder: Path) -> Path:
    from boneage.phantom import generate_phantom

    pixels = np.clip(generate_phantom(7, size=512).image * 65535, 0, 65535).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    path = folder / "hand.png"
    path.write_bytes(buffer.getvalue())
    return path


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        image = _phantom_png(Path(folder))
        commands = {"--help": [*_boneage(), "--help"], "info": [*_boneage(), "info", str(image)]}
        ratios = []
        for name, command in commands.items():
            seconds = _median_seconds(command)
            ratio = seconds / TARGETS_S[name]
            ratios.append(ratio)
            print(
                f"boneage {name:7s} median {seconds:.2f} s over {RUNS} runs "
                f"(target {TARGETS_S[name]:.0f} s, ratio {ratio:.2f})"
            )
    print(f"startup ratio to target (worst): {max(ratios):.2f}")


if __name__ == "__main__":
    main()

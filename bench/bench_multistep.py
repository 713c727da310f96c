"""Multi-step latency and memory on this CPU: landmark U-Net, measurement, reference lookup.

Our figure: wall time per image of ``boneage.multistep.run_landmark_multistep`` on the real
sample films of the test data (``tests/data/rsna-sample``), framed as the runtime frames them
(:func:`boneage.framing.field.field_square`), with the shipped landmark U-Net and reference table;
target a median of at most 300 ms, so the multi-step estimate stays a small part of a 1 s
``assess`` (``bench_assess.py``). Median and 90th percentile over the films, after one warm-up
call.

Where the time goes: the stage functions ``run_landmark_multistep`` calls, timed one by one in
the same order on the same images (``locate``: forward pass and heatmap peaks,
``measure_hand``, ``estimate_age``, ``render_hand_overlay``); rejected images have no lookup.
The per-stage medians need not add up to the whole median exactly.

Memory: peak resident set of the process (``ru_maxrss``) and the resident set added, over a
baseline taken after the imports, by the phantom inputs, by loading the models and by the runs;
and the sizes of the model files the multi-step path reads. Only an idle machine gives honest
times: the torch thread count and ``os.getloadavg()`` are printed with them. The last line is the
ratio to the target, so scripts can read it.

Usage: .venv/bin/python bench/bench_multistep.py [--threads N]  (default: torch's own thread count)
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from boneage.framing.field import field_square
from boneage.multistep.estimator import estimate_age
from boneage.multistep.landmarks import locate
from boneage.multistep.measure import measure_hand
from boneage.multistep.overlay import render_hand_overlay
from boneage.multistep.run import MultistepReading, run_landmark_multistep
from boneage.quality.orientation import orient
from boneage.registry import DEFAULT_DIRECTORY, FOLDERS, ModelBundle, load_card, load_models
from boneage.training.common.datasets.records import load_case
from boneage.training.common.datasets.rsna import read_rsna_labels

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "rsna-sample"
RUNS = 20
TARGET_S = 0.3
MIB = 1024 * 1024


def _resident_mib() -> float:
    """Current resident set of this process in MiB (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as stream:
        pages = int(stream.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / MIB


def _peak_mib() -> float:
    """Peak resident set of this process in MiB (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _films() -> list[tuple[np.ndarray, str]]:
    """The first :data:`RUNS` sample films as the landmark U-Net reads them, with their sex."""
    records = read_rsna_labels(SAMPLE / "labels.csv", SAMPLE / "images")[:RUNS]
    films = []
    for record in records:
        pixels = orient(load_case(record).pixels).as_acquired
        films.append((field_square(pixels).image, record.sex or "F"))
    return films


def _stage_seconds(
    image: np.ndarray, sex: str, result: MultistepReading, models: ModelBundle
) -> dict[str, float]:
    """Wall seconds of each stage function, called in ``run_landmark_multistep``'s order; no
    ``lookup`` when ``result`` is a rejection (the run stops before the table there)."""
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    hand = locate(models.landmarks, image)
    seconds["locate"] = time.perf_counter() - start
    start = time.perf_counter()
    measurements = measure_hand(hand)
    seconds["measure"] = time.perf_counter() - start
    outliers: tuple[str, ...] = ()
    if result.estimate.spacing_mode is not None:
        start = time.perf_counter()
        estimate = estimate_age(models.reference, measurements, sex, result.estimate.spacing_mode)
        seconds["lookup"] = time.perf_counter() - start
        outliers = estimate.outliers
    start = time.perf_counter()
    render_hand_overlay(image, hand, measurements, outliers)
    seconds["overlay"] = time.perf_counter() - start
    return seconds


def _p90(times: list[float]) -> float:
    return statistics.quantiles(times, n=10, method="inclusive")[-1]


def _summary(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1000:.1f} ms, p90 {_p90(times) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    baseline_mib = _resident_mib()
    load_before = os.getloadavg()
    films = _films()
    inputs_mib = _resident_mib()
    models = load_models()
    loaded_mib = _resident_mib()

    def multistep(image: np.ndarray, sex: str) -> MultistepReading:
        return run_landmark_multistep(
            image, spacing_mm=None, sex=sex, network=models.landmarks, reference=models.reference
        )

    multistep(*films[0])  # warm-up: lazy initialisation and allocator caches
    whole: list[float] = []
    cpu: list[float] = []
    results = []
    for image, sex in films:
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        results.append(multistep(image, sex))
        whole.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)

    stages: dict[str, list[float]] = {"locate": [], "measure": [], "lookup": [], "overlay": []}
    for (image, sex), result in zip(films, results, strict=True):
        for name, seconds in _stage_seconds(image, sex, result, models).items():
            stages[name].append(seconds)
    load_after = os.getloadavg()
    end_mib = _resident_mib()

    rejected = sum(r.estimate.rejected is not None for r in results)
    modes = sorted({r.estimate.spacing_mode for r in results if r.estimate.answered})
    median = statistics.median(whole)
    print(
        f"{len(films)} real sample films, whole film at {films[0][0].shape[0]} px, spacing mode "
        f"{'/'.join(modes) or 'none'}, {rejected} rejected; "
        f"torch threads {torch.get_num_threads()}; os.getloadavg before "
        f"{load_before[0]:.2f}, after {load_after[0]:.2f} (on {os.cpu_count()} cores)"
    )
    print(f"run_landmark_multistep wall: {_summary(whole)}; cpu (all threads): {_summary(cpu)}")
    for name, times in stages.items():
        if len(times) < 2:
            print(f"  {name:<8} timed on {len(times)} images: too few for a median and p90")
            continue
        share = statistics.median(times) / median
        print(f"  {name:<8} {_summary(times)} ({len(times)} images), {share:.0%} of the median")
    print(
        f"target {TARGET_S * 1000:.0f} ms median: ratio {median / TARGET_S:.2f}, "
        f"p90 ratio {_p90(whole) / TARGET_S:.2f}"
    )
    print(
        f"resident memory: baseline after imports {baseline_mib:.0f} MiB; added by the "
        f"{RUNS} inputs {inputs_mib - baseline_mib:+.0f} MiB, by loading the models "
        f"{loaded_mib - inputs_mib:+.0f} MiB, by the runs {end_mib - loaded_mib:+.0f} MiB "
        f"(total {end_mib - baseline_mib:+.0f} MiB); peak {_peak_mib():.0f} MiB"
    )
    files = []
    for kind in ("segmentation", "reference"):
        _, path = load_card(DEFAULT_DIRECTORY / FOLDERS[kind])
        files.append(f"{path.relative_to(DEFAULT_DIRECTORY)} {path.stat().st_size / MIB:.2f} MiB")
    print(f"model files: {', '.join(files)}")
    print(f"ratio multistep/target={median / TARGET_S:.3f}")


if __name__ == "__main__":
    main()

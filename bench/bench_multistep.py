"""Multi-step latency and memory on this CPU: U-Net segmentation, measurement, reference lookup.

Our figure: wall time per image of ``boneage.multistep.run_multistep`` on held-out phantoms already
preprocessed to :data:`boneage.preprocess.INPUT_SIZE` px
(:func:`boneage.training.evaluate.phantom_case`),
with the shipped demo U-Net and reference table; target a median of at most 300 ms, so the
multi-step estimate stays a small part of a 1 s ``assess`` (``bench_assess.py``). Median and 90th
percentile over the phantoms, after one warm-up call.

Where the time goes: the stage functions ``run_multistep`` calls, timed one by one in the same
order on the same images (``segment`` forward pass and argmax, ``measure_bones``, ``estimate_age``,
``render_overlay``); rejected images have no lookup. The per-stage medians need not add up to the
whole median exactly.

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

import torch

from boneage.measure import measure_bones
from boneage.multistep import MultistepRejection, MultistepResult, run_multistep
from boneage.overlay import render_overlay
from boneage.preprocess import INPUT_SIZE
from boneage.reference import estimate_age
from boneage.registry import DEFAULT_DIRECTORY, FOLDERS, ModelBundle, load_card, load_models
from boneage.segment import segment
from boneage.training.evaluate import LabelledImage, phantom_case

RUNS = 20
FIRST_SEED = 50_000_000
"""Seeds of ``bench_assess.py``: far from the training (below 10 M), selection (10 M), calibration
(20 M, 30 M) and evaluation seeds."""
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


def _stage_seconds(
    case: LabelledImage, result: MultistepResult | MultistepRejection, models: ModelBundle
) -> dict[str, float]:
    """Wall seconds of each stage function, called in ``run_multistep``'s order; no ``lookup``
    when ``result`` is a rejection (``run_multistep`` stops before the table there)."""
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    labels = segment(models.unet, case.image)
    seconds["segment"] = time.perf_counter() - start
    start = time.perf_counter()
    measurements = measure_bones(labels, case.spacing_mm)
    seconds["measure"] = time.perf_counter() - start
    outliers: tuple[str, ...] = ()
    if isinstance(result, MultistepResult):
        start = time.perf_counter()
        estimate = estimate_age(models.reference, measurements, case.sex, result.spacing_mode)
        seconds["lookup"] = time.perf_counter() - start
        outliers = estimate.outliers
    start = time.perf_counter()
    render_overlay(case.image, labels, measurements, outliers)
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
    cases = [phantom_case(seed) for seed in range(FIRST_SEED, FIRST_SEED + RUNS)]
    inputs_mib = _resident_mib()
    models = load_models()
    loaded_mib = _resident_mib()

    def multistep(case: LabelledImage) -> MultistepResult | MultistepRejection:
        return run_multistep(
            case.image,
            spacing_mm=case.spacing_mm,
            sex=case.sex,
            model=models.unet,
            reference=models.reference,
        )

    multistep(cases[0])  # warm-up: lazy initialisation and allocator caches
    whole: list[float] = []
    cpu: list[float] = []
    results = []
    for case in cases:
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        results.append(multistep(case))
        whole.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)

    stages: dict[str, list[float]] = {"segment": [], "measure": [], "lookup": [], "overlay": []}
    for case, result in zip(cases, results, strict=True):
        for name, seconds in _stage_seconds(case, result, models).items():
            stages[name].append(seconds)
    load_after = os.getloadavg()
    end_mib = _resident_mib()

    rejected = sum(isinstance(r, MultistepRejection) for r in results)
    modes = sorted({r.spacing_mode for r in results if isinstance(r, MultistepResult)})
    median = statistics.median(whole)
    print(
        f"{RUNS} held-out phantoms (seeds {FIRST_SEED}..{FIRST_SEED + RUNS - 1}), "
        f"{INPUT_SIZE} px, spacing mode {'/'.join(modes) or 'none'}, {rejected} rejected; "
        f"torch threads {torch.get_num_threads()}; os.getloadavg before "
        f"{load_before[0]:.2f}, after {load_after[0]:.2f} (on {os.cpu_count()} cores)"
    )
    print(f"run_multistep wall: {_summary(whole)}; cpu (all threads): {_summary(cpu)}")
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

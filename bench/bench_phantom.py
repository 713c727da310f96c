"""Phantoms per second at 512x512, single process, against the target of 20/s.

Prints the wall-clock rate and the CPU-time rate (``time.process_time``): on a machine shared with
other jobs the wall clock counts their time too, the CPU time only ours. BLAS/OpenMP threads are
held to one so the figure is a single-process, single-thread one.

Usage: .venv/bin/python bench/bench_phantom.py [--count 100] [--size 512]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

from boneage.phantom import generate_phantom  # noqa: E402

TARGET_PER_SECOND = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()

    generate_phantom(0, size=args.size)  # warm caches (glyphs, interpolation tables, imports)
    walls, cpus = [], []
    for seed in range(1, args.count + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        generate_phantom(seed, size=args.size)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    wall_rate, cpu_rate = args.count / sum(walls), args.count / sum(cpus)
    print(
        f"{args.count} phantoms at {args.size}x{args.size}, os.getloadavg {os.getloadavg()[0]:.1f}"
    )
    print(
        f"wall: median {1000 * np.median(walls):.1f} ms, {wall_rate:.1f} phantoms/s, "
        f"ratio to target {TARGET_PER_SECOND:.0f}/s: {wall_rate / TARGET_PER_SECOND:.2f}"
    )
    print(
        f"cpu:  median {1000 * np.median(cpus):.1f} ms, {cpu_rate:.1f} phantoms/s, "
        f"ratio to target {TARGET_PER_SECOND:.0f}/s: {cpu_rate / TARGET_PER_SECOND:.2f}"
    )


if __name__ == "__main__":
    main()

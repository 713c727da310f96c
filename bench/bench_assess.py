"""Full ``assess`` latency on this CPU, against an ensemble shaped like Deeplasia's.

Our figure: median wall time of ``boneage.assess.assess`` (quality checks, preprocessing, U-Net,
measurement, reference lookup, CNN) on 512 px phantoms, with the shipped demo models, target at most
1.0 s. Theirs: the published Deeplasia ensemble's shape (EfficientNet-b0 and -b4 at 512 px and b0
at 1024 px, one input channel; Rassmann et al. 2023), random weights, one forward pass each on the
same input: only the shape matters for time. Peak resident memory is printed for the whole run.
The last line is the ratio, so scripts can read it.
"""

from __future__ import annotations

import resource
import statistics
import time

import numpy as np
import timm
import torch

from boneage.assess import assess
from boneage.phantom import generate_phantom
from boneage.radiograph import Radiograph
from boneage.registry import load_models

RUNS = 15
TARGET_S = 1.0
DEEPLASIA_SHAPE = (("efficientnet_b0", 512), ("efficientnet_b4", 512), ("efficientnet_b0", 1024))


def _radiograph(seed: int) -> Radiograph:
    phantom = generate_phantom(seed, size=512)
    return Radiograph(
        pixels=phantom.image,
        source_format="PNG",
        bit_depth=16,
        spacing_mm=None,
        spacing_source=None,
        sex=phantom.sex,
        age_months=None,
        birth_date=None,
        study_date=None,
        laterality=None,
        handling=(),
    )


def _median_seconds(call, runs: int) -> float:
    call()  # warm-up: lazy initialisation and allocator caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    threads = torch.get_num_threads()
    models = load_models()
    radiographs = [_radiograph(seed) for seed in range(50_000_000, 50_000_000 + RUNS)]
    cycle = iter(radiographs * 2)
    ours = _median_seconds(lambda: assess(next(cycle), models=models), RUNS)
    print(
        f"assess median {ours * 1000:.0f} ms over {RUNS} phantoms (512 px, {threads} threads); "
        f"target {TARGET_S * 1000:.0f} ms, ratio to target {ours / TARGET_S:.2f}"
    )

    networks = [
        (timm.create_model(name, pretrained=False, in_chans=1, num_classes=1).eval(), size)
        for name, size in DEEPLASIA_SHAPE
    ]
    image = radiographs[0].pixels

    def deeplasia() -> None:
        with torch.inference_mode():
            for network, size in networks:
                x = torch.nn.functional.interpolate(
                    torch.from_numpy(np.ascontiguousarray(image))[None, None],
                    size=(size, size),
                    mode="bilinear",
                )
                network(x)

    theirs = _median_seconds(deeplasia, 5)
    print(
        f"deeplasia-shaped ensemble median {theirs * 1000:.0f} ms "
        f"(b0@512 + b4@512 + b0@1024, random weights)"
    )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory {peak_mib:.0f} MiB")
    print(f"ratio assess/deeplasia_shape={ours / theirs:.3f}")


if __name__ == "__main__":
    main()

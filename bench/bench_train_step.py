"""Milliseconds per image of one training step for candidate CNNs, to plan a CPU training budget.

One step is forward, backward and AdamW on a batch of 1-channel squares in ``channels_last``,
with or without bfloat16 autocast (``--bf16``), on ``--threads`` torch threads; the first step is
a warm-up and not counted. The end-to-end CNN trained on real radiographs was chosen from these
figures (:mod:`boneage.training.cnn.train`).

Usage: .venv/bin/python bench/bench_train_step.py resnet10t:192 mobilenetv3_large_100:160 --bf16
"""

from __future__ import annotations

import argparse
import time

import timm
import torch


def ms_per_image(encoder: str, side: int, *, batch: int, bf16: bool, steps: int) -> float:
    network = timm.create_model(encoder, pretrained=False, in_chans=1, num_classes=1)
    network = network.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(network.parameters(), 1e-3)
    images = torch.randn(batch, 1, side, side).to(memory_format=torch.channels_last)
    targets = torch.randn(batch, 1)
    started = 0.0
    for step in range(steps + 1):
        if step == 1:
            started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = network(images)
        loss = ((out.float() - targets) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - started) / steps / batch * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="+", help="timm encoder:side, e.g. resnet10t:192")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for candidate in args.candidates:
        encoder, side = candidate.split(":")
        ms = ms_per_image(encoder, int(side), batch=args.batch, bf16=args.bf16, steps=args.steps)
        print(
            f"{encoder} at {side} px, batch {args.batch}, {'bf16' if args.bf16 else 'fp32'}, "
            f"{args.threads} threads: {ms:.1f} ms per image and step; "
            f"10,000 images x 20 epochs = {ms * 10_000 * 20 / 60_000:.0f} min"
        )


if __name__ == "__main__":
    main()

"""The long fuzz run: the suite's fuzz tests of the reader and the upload endpoint with
``BONEAGE_FUZZ_SCALE`` times their examples (default 100: 15,000 mutated files and 10,000 random
byte strings through the reader, 6,000 mutated uploads through the API, and 2,500 schemathesis
calls on each of the six API operations). Prints how many inputs each test met and how long it
took; any crash, 5xx or stored refusal fails the test it came from, as in the suite.

    .venv/bin/python bench/bench_fuzz.py [--scale 100]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = (
    "tests/boneage/test_io_fuzz.py",
    "tests/clinic/api/test_upload_fuzz.py",
    "tests/clinic/api/test_api_schema.py::test_fuzzed_calls_get_no_server_error_and_only_documented_answers",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100, help="times the suite's examples")
    scale = parser.parse_args().scale
    env = {**os.environ, "BONEAGE_FUZZ_SCALE": str(scale)}
    failed = 0
    for test in TESTS:
        start = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test,
             "--hypothesis-show-statistics"],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        examples = [
            line.strip()
            for line in run.stdout.splitlines()
            if line.startswith("tests/") or "passing," in line
        ]
        outcome = "passed" if run.returncode == 0 else f"FAILED (exit {run.returncode})"
        print(f"{test}: {outcome} in {seconds:.0f} s")
        for line in examples:
            print(f"    {line}")
        if run.returncode != 0:
            failed += 1
            print(run.stdout[-4000:])
    print(f"scale {scale}: {len(TESTS) - failed} of {len(TESTS)} fuzz runs passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

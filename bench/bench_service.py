"""The service's figures in one command: engine stages, worker throughput, API latency under load.

    .venv/bin/python bench/bench_service.py [--films 20] [--film-px 1400] [--uploads 300]
        [--workers 1,2] [--seconds 20] [--clients 10,50,100]

Needs the PostgreSQL and Redis the integration tests use (127.0.0.1:5432 and :6379; override
with ``BENCH_POSTGRES`` and ``BENCH_REDIS``). It makes its own database, ``boneage_bench``
(dropped first), its own Redis database (12, flushed first) and a temporary media folder, so it
touches nothing else. Three parts, each printing figures and ratios, never asserting a time:

1. **Engine**: ``clinic.engine.assess_film`` on ``--films`` phantom films (16-bit PNG, resized
   to ``--film-px`` on their long side, as large as a typical real hand film) in this process, the
   seconds of each stage (read, gate, preprocessing, segmentation, measurement, lookup, overlay,
   cnn, chart, images: the worker's own timings), median and 10th-90th percentile, and the
   process's peak resident memory.
2. **Worker**: ``--uploads`` studies are queued, then a real ``celery worker`` (prefork, one torch
   thread per child) with 1 and then 2 pool processes drains them. Studies per minute is counted
   from the first study's start to the last one's end (the models' loading is not in it); CPU
   seconds per study are the worker's whole CPU time (loading included) over the studies.
3. **API**: gunicorn (3 sync workers, as in ``docker/Dockerfile.web``) on loopback, with a worker
   draining behind it, is read by 10, 50 and 100 concurrent clients for ``--seconds`` each
   (half list, half detail calls) while one more client uploads a film every 2 s. p50, p95 and
   p99 of each kind of call; then every upload answered 201 is counted to a finished study.

Everything shares this machine's cores: the figures are this machine's, under that load.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/12")
DATABASE = "boneage_bench"
STAGES = (
    "read", "gate", "preprocessing", "segmentation", "measurement", "lookup", "overlay", "cnn",
    "chart", "images",
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=20, help="films for the engine's stages")
    parser.add_argument(
        "--film-px", type=int, default=1400, help="long side of the films (real ones: 900-1,600)"
    )
    parser.add_argument("--uploads", type=int, default=300, help="queued studies per worker run")
    parser.add_argument("--seconds", type=int, default=20, help="seconds of load per API level")
    parser.add_argument("--workers", default="1,2", help="pool sizes of the worker runs")
    parser.add_argument("--clients", default="10,50,100", help="concurrent API clients per level")
    args = parser.parse_args()

    media = Path(tempfile.mkdtemp(prefix="bench-media-"))
    environment = {
        "DJANGO_SETTINGS_MODULE": "clinic.settings.local",
        "DATABASE_URL": f"{POSTGRES}/{DATABASE}",
        "CELERY_BROKER_URL": REDIS,
        "BONEAGE_MEDIA_ROOT": str(media),
        "BONEAGE_API_RATE": "1000000/min",  # the bench measures latency, not the throttle
        "BONEAGE_TORCH_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    os.environ.update(environment)
    _fresh_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import redis

    redis.Redis.from_url(REDIS).flushdb()
    films = [_film(seed, args.film_px) for seed in range(max(args.films, 30))]

    kib = statistics.median(len(film) for film in films) // 1024
    print(f"== engine: {args.films} phantom films, {args.film_px} px long side, {kib} KiB PNG ==")
    engine_stages(films[: args.films])

    user = _user()
    for pool in [int(n) for n in args.workers.split(",")]:
        print(f"== worker: {args.uploads} queued studies, {pool} pool process(es) ==")
        worker_throughput(user, films, args.uploads, pool)

    print(f"== API: gunicorn, 3 sync workers; {args.seconds} s per level; one worker draining ==")
    api_latency(user, films, [int(n) for n in args.clients.split(",")], args.seconds)


def _fresh_database() -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")


def _film(seed: int, long_side: int) -> bytes:
    """A phantom hand as a 16-bit PNG, resized so that its long side is ``long_side`` pixels."""
    from PIL import Image

    from boneage.phantom import generate_phantom

    rng = random.Random(seed)
    phantom = generate_phantom(seed, age_months=rng.uniform(24, 204), sex=rng.choice("FM"))
    pixels = np.asarray(phantom.image, dtype=np.float32) * 65535.0
    scale = long_side / max(pixels.shape)
    size = (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale))
    resized = np.asarray(Image.fromarray(pixels, mode="F").resize(size, Image.Resampling.BILINEAR))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(resized, 0, 65535).astype(np.uint16)).save(buffer, format="PNG")
    return buffer.getvalue()


def _spread(values: list[float]) -> str:
    """Median and 10th-90th percentile, in milliseconds."""
    if len(values) < 2:
        return f"{values[0] * 1000:8.1f} ms"
    deciles = statistics.quantiles(values, n=10)
    return (
        f"median {statistics.median(values) * 1000:8.1f} ms  "
        f"p10-p90 {deciles[0] * 1000:.1f}-{deciles[-1] * 1000:.1f} ms"
    )


def engine_stages(films: list[bytes]) -> None:
    from clinic.engine import assess_film, configured_models

    models = configured_models(threads=1)
    sex = "F"
    assess_film(films[0], sex=sex, chronological_age_months=None, models=models)  # warm-up
    per_stage: dict[str, list[float]] = {}
    totals = []
    for data in films:
        start = time.perf_counter()
        film = assess_film(data, sex=sex, chronological_age_months=120.0, models=models)
        totals.append(time.perf_counter() - start)
        for name, seconds in film.seconds.items():
            per_stage.setdefault(name, []).append(seconds)
    for name in [*STAGES, *sorted(set(per_stage) - set(STAGES))]:
        if name in per_stage:
            print(f"  {name:14s} {_spread(per_stage[name])}  (ran on {len(per_stage[name])})")
    print(f"  {'whole film':14s} {_spread(totals)}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  peak resident memory of this process (models + {len(films)} films): {peak_mib:.0f} MiB"
    )
    print(f"  ratio whole-film median / 1 s target: {statistics.median(totals):.2f}")


def _user() -> Any:
    """The bench's clinician, in an institution of its own."""
    from django.contrib.auth import get_user_model

    from clinic.models import Institution, Membership

    institution = Institution.objects.create(name="Bench Hospital")
    user = get_user_model().objects.create_user(username="bench", password="bench-only")
    Membership.objects.create(user=user, institution=institution)
    return user


def _queue(user: Any, films: list[bytes], count: int) -> list[int]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from clinic import services

    ids = []
    for i in range(count):
        upload = SimpleUploadedFile(f"bench-{i}.png", films[i % len(films)], "image/png")
        study = services.study_create(user=user, file=upload, sex="FM"[i % 2])
        ids.append(study.pk)
    return ids


def _start_worker(pool: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        str(BIN / "celery"), "-A", "clinic", "worker", "--queues", "cpu",
        "--concurrency", str(pool), "--pool", "prefork", "--loglevel", "WARNING",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_finished(ids: list[int], timeout_s: float, worker: subprocess.Popen[bytes]) -> None:
    from clinic.models import Study

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        left = Study.objects.filter(pk__in=ids).exclude(status__in=["done", "failed"]).count()
        if left == 0:
            return
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited with {worker.returncode}; see its log")
        time.sleep(1)
    raise SystemExit(f"{left} of {len(ids)} studies unfinished after {timeout_s:.0f} s")


def _outcome(ids: list[int]) -> dict[str, int]:
    from django.db.models import Count

    from clinic.models import Study

    rows = Study.objects.filter(pk__in=ids).values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


def worker_throughput(user: Any, films: list[bytes], uploads: int, pool: int) -> None:
    from django.db.models import Max, Min

    from clinic.models import Study

    start = time.perf_counter()
    ids = _queue(user, films, uploads)
    print(f"  queued {uploads} uploads in {time.perf_counter() - start:.1f} s (no worker running)")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    log = Path(tempfile.mkdtemp(prefix="bench-worker-")) / "worker.log"
    worker = _start_worker(pool, log)
    try:
        _wait_finished(ids, 3600, worker)
    finally:
        _stop(worker)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    span = Study.objects.filter(pk__in=ids).aggregate(
        first=Min("started_at"), last=Max("finished_at")
    )
    minutes = (span["last"] - span["first"]).total_seconds() / 60
    print(
        f"  {uploads / minutes:.1f} studies/min ({minutes * 60:.0f} s from first start to last end)"
    )
    print(f"  {cpu_s / uploads:.2f} CPU-s per study (worker and its pool, model loading included)")
    print(f"  outcome {_outcome(ids)}; unfinished 0")


class _Latencies:
    """Seconds of each answered call by kind, and the calls that did not answer 2xx."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.created: list[int] = []

    def add(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            if 200 <= status < 300:
                self.seconds.setdefault(kind, []).append(seconds)
            else:
                self.errors[f"{kind} {status}"] = self.errors.get(f"{kind} {status}", 0) + 1


def _percentiles(values: list[float]) -> str:
    cuts = np.percentile(np.array(values) * 1000, [50, 95, 99])
    return f"p50 {cuts[0]:7.1f}  p95 {cuts[1]:7.1f}  p99 {cuts[2]:7.1f} ms"


def api_latency(user: Any, films: list[bytes], levels: list[int], seconds: int) -> None:

    from clinic.api.tokens import api_token_create
    from clinic.models import Study

    _, token = api_token_create(user=user, name="bench")
    headers = {"Authorization": f"Bearer {token}"}
    ids = list(Study.objects.values_list("pk", flat=True))
    port = 18765
    logs = Path(tempfile.mkdtemp(prefix="bench-api-"))
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "clinic.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "3", "--backlog", "2048"],
        cwd=ROOT, stdout=(logs / "web.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = _start_worker(1, logs / "worker.log")
    base = f"http://127.0.0.1:{port}/api/v1/studies/"
    try:
        _wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 60)
        created: list[int] = []
        for clients in levels:
            latencies = _Latencies()
            _load(base, headers, ids, films, clients, seconds, latencies)
            created += latencies.created
            calls = sum(len(v) for v in latencies.seconds.values())
            print(f"  {clients:3d} clients: {calls / seconds:6.1f} answered calls/s")
            for kind in ("list", "detail", "upload"):
                if kind in latencies.seconds:
                    values = latencies.seconds[kind]
                    print(f"      {kind:7s} n={len(values):5d}  {_percentiles(values)}")
            print(f"      not 2xx: {latencies.errors or 'none'}")
        start = time.perf_counter()
        _wait_finished(created, 1800, worker)
        stored = Study.objects.filter(pk__in=created).count()
        print(
            f"  {len(created)} uploads answered 201, {stored} stored, all finished "
            f"{time.perf_counter() - start:.0f} s after the load: {_outcome(created)}; "
            f"lost {len(created) - stored}"
        )
    finally:
        _stop(worker)
        _stop(web)


def _answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _wait_for(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gunicorn did not answer in {timeout_s:.0f} s")
        time.sleep(0.5)


def _load(
    base: str,
    headers: dict[str, str],
    ids: list[int],
    films: list[bytes],
    clients: int,
    seconds: int,
    latencies: _Latencies,
) -> None:
    """``clients`` readers and one uploader against ``base`` for ``seconds``."""
    import requests

    stop_at = time.monotonic() + seconds

    def read(n: int) -> None:
        rng = random.Random(n)
        with requests.Session() as session:
            session.headers.update(headers)
            while time.monotonic() < stop_at:
                kind = rng.choice(("list", "detail"))
                url = base + ("?limit=20" if kind == "list" else f"{rng.choice(ids)}/")
                start = time.perf_counter()
                try:
                    status = session.get(url, timeout=60).status_code
                except requests.RequestException:
                    status = 0
                latencies.add(kind, time.perf_counter() - start, status)

    def upload() -> None:
        with requests.Session() as session:
            session.headers.update(headers)
            n = 0
            while time.monotonic() < stop_at:
                begun = time.monotonic()
                files = {"image": (f"load-{n}.png", io.BytesIO(films[n % len(films)]))}
                start = time.perf_counter()
                try:
                    answer = session.post(base, files=files, data={"sex": "F"}, timeout=60)
                    status = answer.status_code
                except requests.RequestException:
                    status = 0
                latencies.add("upload", time.perf_counter() - start, status)
                if status == 201:
                    with latencies.lock:
                        latencies.created.append(answer.json()["id"])
                n += 1
                time.sleep(max(0.0, 2.0 - (time.monotonic() - begun)))

    threads = [threading.Thread(target=read, args=(n,)) for n in range(clients)]
    threads.append(threading.Thread(target=upload))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()

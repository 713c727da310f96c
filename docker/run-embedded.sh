#!/usr/bin/env bash
# The embedded run (`make run`): one Celery worker process on kombu's filesystem broker and the
# Django server, no external services. The worker also runs beat, which sweeps stuck studies every
# five minutes (clinic.tasks.sweep_studies). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

mkdir -p var
"$BIN/celery" -A clinic worker --queues "${BONEAGE_DEVICE:-cpu}" --concurrency 1 --loglevel INFO \
    --beat --schedule var/celerybeat-schedule &
worker=$!
trap 'kill "$worker" 2>/dev/null; wait "$worker" 2>/dev/null' EXIT INT TERM

echo "Open http://127.0.0.1:${PORT:-8000}/ and log in as demo / demo (institution Demo Hospital; admin: admin / admin)."
"$BIN/python" manage.py runserver "127.0.0.1:${PORT:-8000}"

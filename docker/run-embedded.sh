#!/usr/bin/env bash
# The embedded run (`make run`): one Celery worker process on kombu's filesystem broker and the web
# app behind gunicorn, no external services. The worker also runs beat, which sweeps stuck studies
# every five minutes (clinic.tasks.sweep_studies). Ctrl-C stops both.
#
# gunicorn rather than Django's development server: that one's listen queue holds 10 connections
# and resets the rest, so a PACS sending a batch lost uploads. gthread workers (processes x threads)
# answer concurrent requests; every process publishes to the same broker folder and writes the same
# SQLite file (IMMEDIATE transactions in WAL mode, clinic.settings.base), and whitenoise serves the
# static files. The access log names each page without its query string (search terms and
# identifiers are patient data).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
VAR="${BONEAGE_VAR_DIR:-var}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

mkdir -p "$VAR"
"$BIN/celery" -A clinic worker --queues "${BONEAGE_DEVICE:-cpu}" --concurrency 1 --loglevel INFO \
    --beat --schedule "$VAR/celerybeat-schedule" &
worker=$!
trap 'kill "$worker" 2>/dev/null; wait "$worker" 2>/dev/null' EXIT INT TERM

echo "Open http://127.0.0.1:${PORT:-8000}/ and log in as demo / demo (institution Demo Hospital; admin: admin / admin)."
"$BIN/gunicorn" clinic.wsgi:application --bind "127.0.0.1:${PORT:-8000}" \
    --worker-class gthread --workers "${WEB_WORKERS:-2}" --threads "${WEB_THREADS:-8}" \
    --backlog 2048 --timeout 120 --graceful-timeout 10 \
    --access-logfile - --access-logformat '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

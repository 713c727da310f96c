# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install system-deps run test test-training screenshots bench lint train-demo

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade uv
	$(BIN)/uv pip install --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests use: chromium for the browser tests, dcmtk for third-party DICOM files,
# docker-compose (v1, the one Debian has; no engine needed) to validate the compose file, Orthanc
# with its DICOMweb plugin as the PACS of the DICOM round trip, dicom3tools' dciodvfy to validate
# the SR and secondary capture.
system-deps:
	@command -v chromium >/dev/null && command -v img2dcm >/dev/null \
		&& command -v docker-compose >/dev/null && command -v Orthanc >/dev/null \
		&& test -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so \
		&& command -v dciodvfy >/dev/null || { apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium dcmtk docker-compose \
		orthanc orthanc-dicomweb dicom3tools; }

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py bootstrap_demo
	bash docker/run-embedded.sh

test: install system-deps
	$(BIN)/python -m pytest -m "not training" $(PYTEST_ARGS)

# The README's screenshots, taken by the browser tests (which otherwise save them to a temporary
# folder, so that `make test` leaves the checkout as it was).
screenshots: install system-deps
	BONEAGE_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

test-training: install
	$(BIN)/python -m pytest -m training $(PYTEST_ARGS)

lint: install system-deps
	$(BIN)/ruff check boneage clinic tests bench
	$(BIN)/ruff format --check boneage clinic tests bench
	$(BIN)/hadolint --failure-threshold warning docker/Dockerfile.*
	docker-compose -f docker/docker-compose.yml config --quiet

bench: install
	$(BIN)/python bench/bench_phantom.py
	$(BIN)/python bench/bench_multistep.py
	$(BIN)/python bench/bench_assess.py
	$(BIN)/python bench/bench_startup.py
	$(BIN)/python bench/bench_service.py

train-demo: install
	$(BIN)/boneage train-demo

"""Fixtures shared by the whole suite.

The database is the real PostgreSQL at 127.0.0.1:5432 (and the broker the real Redis) whenever it
answers, and must be with ``CI=true``: ``clinic/settings/test.py`` makes that choice, because
pytest-django reads the settings before any conftest runs. Torch uses one thread: the test
machines share their cores.
"""

from __future__ import annotations

import torch

torch.set_num_threads(1)

"""``celery worker`` for the tests, with faults injected into every assessment by environment.

- ``BONEAGE_TEST_ASSESS_DELAY_S``: every assessment waits that long first, which gives a test a
  window in which the task is surely running, to kill the worker there;
- ``BONEAGE_TEST_ASSESS_CRASH=1``: every assessment kills its own process with SIGKILL, as a film
  that crashes native code (a segfault, the kernel's OOM killer) would.

The patch is made in the parent before the pool forks, so the children inherit it.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings.test")
django.setup()

from clinic.celery import app  # noqa: E402

_engine = importlib.import_module("boneage.assess")

_DELAY_S = float(os.environ.get("BONEAGE_TEST_ASSESS_DELAY_S", "0"))
_CRASH = os.environ.get("BONEAGE_TEST_ASSESS_CRASH") == "1"
_assess = _engine.assess


def _faulty_assess(*args: Any, **kwargs: Any) -> Any:
    time.sleep(_DELAY_S)
    if _CRASH:
        os.kill(os.getpid(), signal.SIGKILL)
    return _assess(*args, **kwargs)


if _DELAY_S > 0 or _CRASH:
    _engine.assess = _faulty_assess

if __name__ == "__main__":
    app.worker_main(sys.argv[1:])

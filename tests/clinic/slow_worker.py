"""``celery worker`` for the tests, with every assessment delayed by BONEAGE_TEST_ASSESS_DELAY_S.

The delay gives a test a window in which the task is surely running, to kill the worker there.
The patch is made in the parent before the pool forks, so the children inherit it.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings.test")
django.setup()

from clinic.celery import app  # noqa: E402

_engine = importlib.import_module("boneage.assess")

_DELAY_S = float(os.environ.get("BONEAGE_TEST_ASSESS_DELAY_S", "0"))
_assess = _engine.assess


def _delayed_assess(*args: Any, **kwargs: Any) -> Any:
    time.sleep(_DELAY_S)
    return _assess(*args, **kwargs)


if _DELAY_S > 0:
    _engine.assess = _delayed_assess

if __name__ == "__main__":
    app.worker_main(sys.argv[1:])

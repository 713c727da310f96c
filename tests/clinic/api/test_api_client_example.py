"""The Python example of docs/api.md, run as written against a live server, so that it stays true.

The block runs in its own Python process with only what the page tells a reader to set up: the
server's URL, a token printed by ``create_api_token`` and a ``hand.png``. The assessment runs for
real (the shipped demo models), in the server, through the Celery task executed eagerly.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"
MARKER = "<!-- tested: tests/clinic/api/test_api_client_example.py"


def example_code() -> str:
    """The first ```python block after the marker in docs/api.md."""
    text = DOC.read_text()
    match = re.search(r"```python\n(.*?)```", text[text.index(MARKER) :], re.DOTALL)
    assert match, "docs/api.md lost its tested example"
    return match.group(1)


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Run queued tasks in the server at commit, as a worker would, without a broker."""
    from clinic.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_the_documented_client_example_runs_against_a_live_server(
    live_server: Any, user: Any, phantom_png: bytes, tmp_path: Path, eager_tasks: None
):
    token = io.StringIO()
    call_command("create_api_token", user.username, "--name", "docs", stdout=token)
    (tmp_path / "hand.png").write_bytes(phantom_png)
    env = {
        **os.environ,
        "BONEAGE_URL": live_server.url,
        "BONEAGE_TOKEN": token.getvalue().strip(),
    }
    run = subprocess.run(
        [sys.executable, "-c", example_code()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr + run.stdout
    lines = run.stdout.splitlines()
    assert lines[0].startswith("multistep: ") and lines[1].startswith("endtoend: ")
    assert lines[2].startswith("preliminary ")

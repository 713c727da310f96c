"""The one way a training writes the model card of the file it made.

Every card names its file and that file's SHA-256 (the registry refuses a card whose file was
replaced) and the code version that made it; :func:`describe_file` fills those three from the
file itself, so no trainer can get them wrong or out of step.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import boneage
from boneage.modelcard import ModelCard


def describe_file(model_file: Path, **fields: Any) -> ModelCard:
    """The card of ``model_file`` (already written) with the given fields."""
    return ModelCard(
        **fields,
        file=model_file.name,
        file_sha256=hashlib.sha256(model_file.read_bytes()).hexdigest(),
        code_version=boneage.__version__,
    )

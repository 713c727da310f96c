"""Model files as the runtime reads them: float16 weights beside their settings, in one file.

Float16 halves the files kept in git (every shipped model stays well under 20 MB); the runtime
computes in float32. A file that cannot be read becomes :class:`ModelUnavailable` with the
model's name in words, never a traceback.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from boneage.errors import ModelUnavailable


def save_half(network: nn.Module, path: Path, **extra: Any) -> None:
    """Write ``network``'s weights in float16 with ``extra`` entries (its settings)."""
    state = {k: v.half() if v.is_floating_point() else v for k, v in network.state_dict().items()}
    torch.save({**extra, "state_dict": state}, path)


def load_half(path: Path, what: str, build: Any) -> tuple[nn.Module, dict[str, Any]]:
    """Read a file of :func:`save_half`; ``build(raw)`` makes the network its weights go into.

    ``what`` names the model in the error ("the quality-gate model")."""
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
        network = build(raw)
        network.load_state_dict(
            {k: v.float() if v.is_floating_point() else v for k, v in raw["state_dict"].items()}
        )
    except (OSError, KeyError, RuntimeError, TypeError, pickle.UnpicklingError) as error:
        raise ModelUnavailable(
            f"{what.capitalize()} at {path} cannot be loaded: {error}"
        ) from error
    return network.eval(), raw

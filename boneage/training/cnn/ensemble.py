"""Join CNNs trained apart into one ensemble, calibrate it and measure it; write its card.

Each member is a folder of ``boneage train regress-real`` (weights and card). The members must
share the network's configuration and the calibration slice (``--split-seed``): the slice that
calibrates the ensemble's interval must be unseen by every member, or the interval would be set
on films some member learnt.
"""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from boneage.endtoend.cnn import AgeEnsemble, AgeRegressor, Regressor, load_regressor
from boneage.modelcard import ModelCard, TrainingData
from boneage.registry import load_card
from boneage.training.cnn.run import (
    WEIGHTS_FILE,
    architecture_words,
    calibrate_and_measure,
    load_real_data,
)
from boneage.training.common.cards import describe_file

log = logging.getLogger(__name__)


def _split_of(card: ModelCard) -> tuple[int, int]:
    """(calibration size, split seed) a member was trained with."""
    settings = card.settings
    return int(settings["n_calibration"]), int(settings.get("split_seed", settings["seed"]))


def build_ensemble(
    cache_path: Path,
    member_dirs: list[Path],
    out_dir: Path,
    *,
    landmarks: nn.Module | None,
    name: str,
    version: str,
) -> ModelCard:
    """The ensemble of the members in ``member_dirs``, calibrated on their shared slice of the
    cache's ``train`` and measured on its ``val``, written with its card into ``out_dir``."""
    if len(member_dirs) < 2:
        raise ValueError("an ensemble needs at least two members")
    cards: list[ModelCard] = []
    networks: list[AgeRegressor] = []
    for folder in member_dirs:
        card, weights = load_card(folder)
        member = load_regressor(weights).network
        cards.append(card)
        networks.extend(member.members if isinstance(member, AgeEnsemble) else [member])  # type: ignore[arg-type]
    splits = {_split_of(card) for card in cards}
    if len(splits) != 1:
        raise ValueError(
            "the members were calibrated on different slices (calibration size, split seed: "
            f"{sorted(splits)}); train them with one --split-seed"
        )
    n_calibration, split_seed = splits.pop()
    ensemble = Regressor(AgeEnsemble(networks), interval_scale=1.0)
    network = ensemble.network.config
    data = load_real_data(
        cache_path,
        network.framing,
        n_calibration=n_calibration,
        split_seed=split_seed,
        landmarks=landmarks,
    )
    held_out = calibrate_and_measure(ensemble, data)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / WEIGHTS_FILE
    ensemble.save(weights)
    members = "; ".join(
        f"{c.ident} (val MAE {c.held_out.mae_months} months): {c.training_data.description}"
        for c in cards
    )
    card = describe_file(
        weights,
        name=name,
        version=version,
        kind="regression",
        architecture=architecture_words(network, ensemble.members),
        parameter_count=sum(p.numel() for p in ensemble.network.parameters()),
        training_data=TrainingData(
            kind="rsna-2017-train",
            size=max(card.training_data.size for card in cards),
            description=f"{ensemble.members} members trained apart, each calibrated on the same "
            f"{len(data.splits.calibration)} films of train, which the ensemble's interval is set "
            f"on anew. Members: {members}",
        ),
        held_out=held_out,
        settings={
            "members": [card.ident for card in cards],
            "n_calibration": n_calibration,
            "split_seed": split_seed,
            "framing": network.framing,
            "input_side": network.input_side,
            "encoder": network.encoder,
        },
    )
    card.save(out_dir / "card.json")
    log.info("ensemble %s: val MAE %.2f months", card.ident, held_out.mae_months)
    return card

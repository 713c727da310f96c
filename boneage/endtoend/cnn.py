"""The end-to-end estimate: a CNN from the framed film and sex to bone age with an interval.

The network (:class:`AgeRegressor`) is a small timm encoder (random initialisation, one input
channel) whose pooled features are joined with the sex and mapped to a mean and a variance of the
age (Gaussian negative log-likelihood head). The predicted standard deviation says which images
are harder; its absolute size is then calibrated on a held-out calibration split by split
conformal prediction (:func:`boneage.training.common.conformal.conformal_scale`), so that ``mean ±
scale · sd`` covers the true age in 90 % of unseen cases. The calibrated ``scale`` is stored in the
checkpoint.

An ensemble (:class:`AgeEnsemble`) is several such networks trained apart (other seeds, the same
calibration slice) and read as one: its answer is the equal mixture of the members' Gaussians,
so the members' disagreement adds to the predicted variance, and the mixture is calibrated anew.

A checkpoint is one ``torch.save`` file: the weights in float16 (about 10 MB for each member of
the shipped network), the constructor settings, the number of members and the calibration.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import timm
import torch
from torch import nn
from torch.nn import functional as F

from boneage.checkpoints import load_half, save_half

Framing = Literal["hand", "field", "canonical"]

AGE_CENTRE_MONTHS = 120.0
AGE_SPREAD_MONTHS = 60.0
"""Targets are ``(age - centre) / spread`` during training: unit-scale for the optimiser."""

COVERAGE = 0.9
"""Nominal coverage of the reported interval."""


@dataclass(frozen=True)
class RegressorConfig:
    """Everything needed to rebuild the network; stored in the checkpoint."""

    encoder: str = "mobilenetv3_small_100"
    input_side: int = 128
    hidden: int = 64
    framing: Framing = "hand"
    """What the network reads: ``"canonical"``, the canonical hand crop of
    :mod:`boneage.framing.canonical`; ``"field"``, the whole film of
    :func:`boneage.framing.field.frame_field` (the two the runtime loads, the field model as the
    fallback where no canonical pose is found); or ``"hand"``, the hand crop of the phantom era
    (:func:`boneage.phantom.crop.preprocess`)."""
    mirror_average: bool = False
    """Read each film and its mirror image and average the two (mean and variance): for a
    network trained on randomly mirrored films, whose two readings differ only by noise."""


class AgeRegressor(nn.Module):
    """Image (B, 1, S, S) in 0..1 and sex (B,) as 1.0 male / 0.0 female → (mean, log variance).

    Both outputs are in normalised units (see :data:`AGE_CENTRE_MONTHS`). The image is resized
    to ``config.input_side`` inside the network so that every caller passes the one shared
    preprocessed size and training on two CPU cores stays affordable.
    """

    def __init__(self, config: RegressorConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = timm.create_model(
            config.encoder, pretrained=False, in_chans=1, num_classes=0
        )
        width = getattr(self.encoder, "head_hidden_size", None) or self.encoder.num_features
        self.head = nn.Sequential(
            nn.Linear(width + 1, config.hidden),
            nn.GELU(),
            nn.Linear(config.hidden, 2),
        )

    def forward(self, image: torch.Tensor, male: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        side = self.config.input_side
        if image.shape[-1] != side or image.shape[-2] != side:
            image = F.interpolate(image, size=(side, side), mode="area")
        features = self.encoder(image * 2.0 - 1.0)
        out = self.head(torch.cat([features, male[:, None].to(features.dtype)], dim=1))
        return out[:, 0], out[:, 1].clamp(-12.0, 6.0)


class AgeEnsemble(nn.Module):
    """Members of one :class:`RegressorConfig`, read as the equal mixture of their Gaussians.

    The same inputs and outputs as :class:`AgeRegressor`: the mean is the members' average and
    the variance the average of their variances plus the spread of their means, so that a film
    the members read differently gets a wider interval."""

    def __init__(self, members: list[AgeRegressor]) -> None:
        super().__init__()
        configs = {member.config for member in members}
        if len(configs) != 1:
            raise ValueError(f"the members of an ensemble share one configuration, not {configs}")
        self.config = configs.pop()
        self.members = nn.ModuleList(members)

    def forward(self, image: torch.Tensor, male: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        means, log_vars = zip(*(member(image, male) for member in self.members), strict=True)
        mean = torch.stack(means).mean(0)
        spread = torch.stack(means).var(0, unbiased=False)
        variance = torch.stack(log_vars).exp().mean(0) + spread
        return mean, variance.log()


@dataclass(frozen=True)
class AgeEstimate:
    """Bone age in months with its calibrated 90 % interval (lower end clipped at birth, 0)."""

    age_months: float
    interval_months: tuple[float, float]
    sd_months: float


@dataclass
class Regressor:
    """A loaded network with its calibration, ready to predict."""

    network: AgeRegressor | AgeEnsemble
    interval_scale: float
    device: str = "cpu"

    @property
    def framing(self) -> Framing:
        """Which preprocessing the network expects (see :attr:`RegressorConfig.framing`)."""
        return self.network.config.framing

    def predict(self, image: np.ndarray, sex: str) -> AgeEstimate:
        """Estimate bone age from one model input (float 0..1, square; the framed film of
        :mod:`boneage.framing.field`).

        A regression head can answer below zero for a newborn's hand (the unlabelled infant
        films of the test data gave down to -4 months); a bone age is never negative, so the
        estimate and its interval are held at 0 or above."""
        mean, sd = self.predict_batch(np.asarray(image)[None], np.array([_male(sex)]))
        half = self.interval_scale * float(sd[0])
        age = float(mean[0])
        return AgeEstimate(
            age_months=max(0.0, age),
            interval_months=(max(0.0, age - half), max(0.0, age + half)),
            sd_months=float(sd[0]),
        )

    @torch.no_grad()
    def predict_batch(self, images: np.ndarray, male: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Uncalibrated mean and standard deviation in months for a batch (N, S, S)."""
        self.network.eval()
        tensor = torch.as_tensor(np.asarray(images, dtype=np.float32))[:, None].to(self.device)
        sexes = torch.as_tensor(male, dtype=torch.float32).to(self.device)
        mean, log_var = self.network(tensor, sexes)
        if self.network.config.mirror_average:
            mirrored_mean, mirrored_log_var = self.network(tensor.flip(-1), sexes)
            mean = (mean + mirrored_mean) / 2
            log_var = torch.logaddexp(log_var, mirrored_log_var) - math.log(2)
        return denormalise(mean), (log_var / 2).exp().cpu().numpy() * AGE_SPREAD_MONTHS

    @property
    def members(self) -> int:
        """How many networks answer together (1 for a single network)."""
        return len(self.network.members) if isinstance(self.network, AgeEnsemble) else 1

    def save(self, path: Path) -> None:
        """Write the checkpoint with float16 weights (an ensemble's with its member count)."""
        extra = {"members": self.members} if isinstance(self.network, AgeEnsemble) else {}
        save_half(
            self.network,
            path,
            config=asdict(self.network.config),
            interval_scale=self.interval_scale,
            coverage=COVERAGE,
            **extra,
        )


def _male(sex: str) -> float:
    if sex not in ("F", "M"):
        raise ValueError(f"sex must be 'F' or 'M', not {sex!r}")
    return 1.0 if sex == "M" else 0.0


def normalise(age_months: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    return (age_months - AGE_CENTRE_MONTHS) / AGE_SPREAD_MONTHS


def denormalise(value: torch.Tensor) -> np.ndarray:
    return value.float().cpu().numpy() * AGE_SPREAD_MONTHS + AGE_CENTRE_MONTHS


def load_regressor(path: Path, device: str = "cpu") -> Regressor:
    """Load a checkpoint written by :meth:`Regressor.save`; ModelUnavailable when unreadable."""

    def build(raw: dict) -> AgeRegressor | AgeEnsemble:
        config = RegressorConfig(**raw["config"])
        if "members" not in raw:
            return AgeRegressor(config)
        return AgeEnsemble([AgeRegressor(config) for _ in range(int(raw["members"]))])

    network, raw = load_half(path, "the age regression model", build)
    network.to(device)
    return Regressor(network=network, interval_scale=float(raw["interval_scale"]), device=device)

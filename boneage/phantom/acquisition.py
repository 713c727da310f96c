"""From projected thicknesses to a displayed radiograph: attenuation, detector blur, quantum
noise, the log/window/contrast curve of the display, and edge enhancement.

Physics, simplified: transmitted fraction ``I = exp(-(mu_bone * bone_mm + mu_soft * soft_mm))``
(Beer-Lambert); quantum noise with variance proportional to the photon count (Poisson, in its
Gaussian limit); the detector's log signal windowed and passed through a characteristic curve.
Attenuation coefficients are round values for the effective energy of a 45-55 kVp hand exposure,
about 30-40 keV (NIST XCOM mass attenuation times density: soft tissue ~ 0.026-0.038 /mm; cortical
bone (1.9 g/cm3) ~ 0.12-0.25 /mm, lowered here to 0.07-0.17 /mm because a child's bone is less
mineralised and the real infant radiographs show bone only moderately brighter than soft tissue),
drawn per image so that the models do not learn one fixed contrast.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

from boneage.phantom.render import upsample


@dataclass(frozen=True)
class Acquisition:
    """The randomised settings of one exposure and its display.

    The display is anchored on the soft tissue: whatever the exposure, soft tissue of
    ``_ANCHOR_FRACTION`` of the hand's greatest thickness (about a finger's) shows at
    ``soft_level`` of the grey range above the background (0.3-0.55 for fingers and palm in the
    ten real infant radiographs we compared with, judged by eye), so the hand's outline is always
    visible and bone always brighter, as a radiographer's windowing would leave it.
    """

    mu_bone_per_mm: float
    mu_soft_per_mm: float
    blur_px: float
    photons: float
    soft_level: float
    s_curve: float
    window_low: float
    background: float
    edge_gain: float
    texture: float
    heel: float
    heel_direction: float
    scatter: float

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Acquisition:
        return cls(
            mu_bone_per_mm=float(rng.uniform(0.07, 0.17)),
            mu_soft_per_mm=float(rng.uniform(0.026, 0.038)),
            blur_px=float(rng.uniform(0.5, 1.2)),
            photons=float(np.exp(rng.uniform(np.log(1500.0), np.log(10000.0)))),
            soft_level=float(rng.uniform(0.3, 0.55)),
            s_curve=float(rng.uniform(0.0, 0.7)),
            window_low=float(rng.uniform(-0.02, 0.05)),
            background=float(rng.uniform(0.0, 0.4)),
            edge_gain=float(rng.uniform(0.0, 0.4)) if rng.random() < 0.5 else 0.0,
            texture=float(rng.uniform(0.04, 0.14)),
            heel=float(rng.uniform(0.0, 0.1)),
            heel_direction=float(rng.uniform(0.0, 2.0 * np.pi)),
            scatter=float(rng.uniform(0.0, 0.25)),
        )


_ANCHOR_FRACTION = 0.55
"""Fraction of the greatest soft-tissue thickness (forearm, wrist) whose grey level is fixed."""
_TOE = 0.04
"""Offset of the gamma curve, which bounds its slope near zero so that a strong gamma does not
blow the detector noise of the open background up into speckle."""
_LEVELS = 4096
"""The display curve is applied through a lookup table of this many grey levels (far finer than
the 8-12 bits a radiograph is stored in), much faster than a per-pixel power."""


def _display(
    signal: np.ndarray, soft_attenuation: float, high: float, settings: Acquisition
) -> np.ndarray:
    """Window the log signal to 0..1 and bend it with a gamma that puts the thickest soft tissue
    at ``soft_level``, then blend in an S-curve (film-like shoulder and toe)."""
    span = high - settings.window_low
    anchor = np.clip((soft_attenuation - settings.window_low) / span, 0.05, 0.95)
    gamma = float(np.clip(np.log(settings.soft_level) / np.log(anchor), 0.3, 2.0))
    toe = np.float32(_TOE) ** gamma
    levels = np.linspace(0.0, 1.0, _LEVELS, dtype=np.float32)
    curve = ((levels + _TOE) ** gamma - toe) / ((1.0 + _TOE) ** gamma - toe)
    curve += settings.s_curve * curve * (1.0 - curve) * (2.0 * curve - 1.0)
    signal -= settings.window_low
    signal *= (_LEVELS - 1) / span
    np.clip(signal, 0.0, _LEVELS - 1, out=signal)
    return curve[signal.astype(np.intp)]


def _read_only(array: np.ndarray) -> np.ndarray:
    """Cached fields are shared by every phantom: guard them against in-place writes."""
    array.flags.writeable = False
    return array


@lru_cache(maxsize=4)
def _texture_bank(size: int) -> np.ndarray:
    """A fixed (2 size, 2 size) mottled field around 0 (SD ~ 0.5, grain of a few pixels), made
    once per image size from a fixed seed; phantoms take random crops of it, which costs a slice
    instead of a fresh filtered noise field each time."""
    noise = np.random.default_rng(20240601).standard_normal((2 * size, 2 * size), np.float32)
    return _read_only(ndimage.gaussian_filter(noise, 1.6) * 2.8)


@lru_cache(maxsize=4)
def _noise_bank(size: int) -> np.ndarray:
    """A fixed (2 size, 2 size) field of independent standard normal values, made once per image
    size; each phantom takes a random crop, flipped at random. A crop of i.i.d. noise is i.i.d.
    noise, and slicing costs far less than drawing a quarter million normals per phantom."""
    return _read_only(
        np.random.default_rng(20240602).standard_normal((2 * size, 2 * size), np.float32)
    )


def _crop(bank: np.ndarray, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    row = int(rng.integers(0, bank.shape[0] - shape[0]))
    col = int(rng.integers(0, bank.shape[1] - shape[1]))
    step_y, step_x = (-1 if flip else 1 for flip in rng.random(2) < 0.5)
    return bank[row : row + shape[0], col : col + shape[1]][::step_y, ::step_x]


def trabecular_texture(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A crop of the texture bank to modulate bone density like trabecular bone does."""
    return _crop(_texture_bank(max(shape)), shape, rng)


def _add_heel_ramp(signal: np.ndarray, settings: Acquisition) -> None:
    """The anode heel effect: the beam's intensity falls off along the tube axis, which adds a
    linear ramp of up to ``heel`` (log units, edge to edge) to the log signal, in place."""
    rows = np.linspace(-0.5, 0.5, signal.shape[0], dtype=np.float32)[:, None]
    cols = np.linspace(-0.5, 0.5, signal.shape[1], dtype=np.float32)[None, :]
    signal += rows * np.float32(settings.heel * np.sin(settings.heel_direction))
    signal += cols * np.float32(settings.heel * np.cos(settings.heel_direction))


def _add_scatter(transmitted: np.ndarray, fraction: float) -> None:
    """Scattered radiation: a broad blur of the primary beam (kernel SD ~ 24 px) added with
    ``fraction`` of its intensity, in place. Hand exposures are usually taken without a grid;
    scatter-to-primary ratios of 0.1-0.25 lift the background near the hand and flatten contrast
    under thick tissue."""
    coarse = ndimage.gaussian_filter(transmitted[4::8, 4::8], 3.0)
    transmitted += np.float32(fraction) * upsample(coarse, transmitted.shape)


def expose(
    bone_mm: np.ndarray, soft_mm: np.ndarray, settings: Acquisition, rng: np.random.Generator
) -> np.ndarray:
    """The displayed image (float32, 0..1, bone bright) of the given thickness maps (mm)."""
    texture = trabecular_texture(bone_mm.shape, rng)
    attenuation = np.float32(settings.texture * settings.mu_bone_per_mm) * texture
    attenuation += np.float32(settings.mu_bone_per_mm)
    attenuation *= bone_mm
    attenuation += np.float32(settings.mu_soft_per_mm) * soft_mm
    attenuation = ndimage.gaussian_filter(attenuation, settings.blur_px)
    high = max(float(attenuation.max()), 0.2)
    signal = np.negative(attenuation)
    transmitted = np.exp(signal, out=signal)
    if settings.scatter:
        _add_scatter(transmitted, settings.scatter)
    noise = np.sqrt(transmitted)
    noise *= _crop(_noise_bank(max(noise.shape)), noise.shape, rng)
    noise *= np.float32(1.0 / np.sqrt(settings.photons))
    transmitted += noise
    np.clip(transmitted, 1e-3, None, out=transmitted)
    signal = np.log(transmitted, out=transmitted)
    np.negative(signal, out=signal)
    _add_heel_ramp(signal, settings)
    soft_attenuation = settings.mu_soft_per_mm * _ANCHOR_FRACTION * float(soft_mm.max())
    shown = _display(signal, soft_attenuation, high, settings)
    if settings.edge_gain:
        background = upsample(ndimage.gaussian_filter(shown[2::4, 2::4], 3.0), shown.shape)
        shown = shown + settings.edge_gain * (shown - background)
    image = settings.background + (1.0 - settings.background) * shown
    return np.clip(image, 0.0, 1.0).astype(np.float32)

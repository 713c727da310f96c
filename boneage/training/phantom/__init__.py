"""Synthetic hand radiographs with per-bone label masks, known age and sex, deterministic by seed.

The default training, test and demo data of both estimation paths. Modules: ``primitives`` (the
shapes), ``layout`` (the adult hand that is scaled), ``skeleton`` (one hand laid out by age and
sex from :mod:`boneage.anatomy`), ``render`` (rasterising shapes into thickness and labels),
``acquisition`` (exposure, noise, blur, display curve), ``markers`` (collimation, side letter,
ruler) and ``generate`` (the entry point).
"""

from __future__ import annotations

from boneage.training.phantom.generate import MAX_AGE_MONTHS, Phantom, generate_phantom

__all__ = ["MAX_AGE_MONTHS", "Phantom", "generate_phantom"]

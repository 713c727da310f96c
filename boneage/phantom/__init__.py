"""The phantom era: synthetic hand radiographs and the models and experiments built on them.

The runtime never imports this package (``boneage.assess`` reads whole real films only); the
phantom learning curve, ``boneage train-demo``, the demo data and the tests use it.

The generator draws synthetic hand radiographs with per-bone label masks, known age and sex,
deterministic by seed: ``primitives`` (the shapes), ``layout`` (the adult hand that is scaled),
``skeleton`` (one hand laid out by age and sex from :mod:`~boneage.phantom.anatomy`), ``render``
(rasterising shapes into thickness and labels), ``acquisition`` (exposure, noise, blur, display
curve), ``markers`` (collimation, side letter, ruler) and ``generate`` (the entry point).

The phantom-era models: the hand crop (``crop``), the bone-segmentation U-Net (``segment``), its
per-bone measurements (``measure``), the table built from published anatomy
(``reference_default``), the segmentation multi-step path (``multistep``) and its overlay
(``overlay``).
"""

from __future__ import annotations

from boneage.phantom.generate import MAX_AGE_MONTHS, Phantom, generate_phantom

__all__ = ["MAX_AGE_MONTHS", "Phantom", "generate_phantom"]

"""boneage: the bone-age engine.

Two independent estimates of a child's bone age from a hand radiograph: a multi-step path
(U-Net segmentation, bone measurement, sex-specific reference table) and an end-to-end CNN.
This package knows nothing of Django; the web app calls :func:`boneage.assess.assess`.
"""

from __future__ import annotations

__version__ = "0.1.0"

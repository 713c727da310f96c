"""boneage: the bone-age engine.

Two independent estimates of a child's bone age from a hand radiograph: a multi-step path
(U-Net segmentation, bone measurement, sex-specific reference table) and an end-to-end CNN.
This package knows nothing of Django; the web app calls :func:`boneage.assess.assess`. It logs
under the ``boneage`` logger (model loading, every rejection in words, never patient data).
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

# A library logs under its own name and leaves the handlers to the application (the clinic's
# settings, or a notebook's logging.basicConfig); without one, nothing is printed.
logging.getLogger(__name__).addHandler(logging.NullHandler())

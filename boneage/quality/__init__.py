"""The quality stage: orientation checks read from the hand's outline
(:mod:`~boneage.quality.orientation`), the learned gate (:mod:`~boneage.quality.gate`), and
:func:`~boneage.quality.checks.check_quality`, which runs both and frames the film once."""

"""Fitting the rule that pools the two estimates (:mod:`boneage.combined`)."""

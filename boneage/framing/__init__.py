"""Framing a film for the networks: the hand's outline (:mod:`~boneage.framing.outline`) and the
whole film as a square model input (:mod:`~boneage.framing.field`)."""

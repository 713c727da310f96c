"""The multi-step estimate: the landmark U-Net (:mod:`~boneage.multistep.landmarks`), the hand's
measurements (:mod:`~boneage.multistep.measure`), the reference table
(:mod:`~boneage.multistep.table`) and its estimator (:mod:`~boneage.multistep.estimator`), the
overlay (:mod:`~boneage.multistep.overlay`) and the run of all of them on one film
(:mod:`~boneage.multistep.run`)."""

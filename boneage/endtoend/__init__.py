"""The end-to-end estimate: one CNN from the framed film and sex to an age with a calibrated
interval (:mod:`~boneage.endtoend.cnn`)."""

"""Training the shipped models on real films, one subpackage per model.

- :mod:`~boneage.training.common`: what every trainer shares: the time-budgeted loop
  (``budget``), the one training configuration (``config``), the one augmentation pipeline
  (``augment``), model cards (``cards``), every data split (``splits``), the decoded image cache
  (``image_cache``), split-conformal calibration (``conformal``) and the dataset layouts
  (``datasets``);
- :mod:`~boneage.training.cnn`, :mod:`~boneage.training.landmarks`,
  :mod:`~boneage.training.gate`: each network's loop and the run that writes its card;
- :mod:`~boneage.training.reference`: the reference table fitted on hands the landmark U-Net
  measured.

Nothing in the per-radiograph runtime (:mod:`boneage.assess` and what it imports) imports this
package; it imports the runtime, so a model is trained on exactly the pixels it will see. The
phantom-era trainers and experiments live in :mod:`boneage.phantom`; measuring a labelled folder
and the learning curves in :mod:`boneage.evaluation`.
"""

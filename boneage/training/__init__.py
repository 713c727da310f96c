"""Training and experiments: data splits, cached images, training loops, model cards.

Nothing in the per-radiograph runtime (:mod:`boneage.assess` and what it imports) imports this
package; it imports the runtime, so a model is trained on exactly the pixels it will see.
"""
